#include "common/clock.hpp"

#include <chrono>

namespace imagebuild {

std::uint64_t realtimeUsec() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(
        duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace imagebuild
