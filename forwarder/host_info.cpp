#include "forwarder/host_info.hpp"

#include <chrono>

namespace imagebuild::forwarder {

std::uint64_t nowUsec() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace imagebuild::forwarder
