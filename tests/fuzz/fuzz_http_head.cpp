// libFuzzer target over the request-head checks the forwarder's gate makes
// before libmicrohttpd sees a connection: any bytes as they may arrive from a
// client, whole and cut at every length the input's first byte picks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "forwarder/request_head.hpp"

namespace fw = imagebuild::forwarder;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    fw::HeadLimits limits;
    limits.maxHeadBytes = 1024 + bytes[0] * 16;
    limits.maxTargetBytes = 64 + bytes[0] * 8;
    limits.maxHeaderFields = 1 + bytes[0] % 50;
    std::string_view data(reinterpret_cast<const char*>(bytes + 1), size - 1);
    auto length = fw::headLength(data);
    if (length > data.size()) {
        std::abort();  // the head cannot be longer than what arrived
    }
    if (length == 0) {
        (void)fw::checkPartialHead(data, limits);
        return 0;
    }
    auto problem = fw::checkRequestHead(data.substr(0, length), limits);
    if (problem && (problem->status < 400 || problem->status > 599 || problem->error.empty())) {
        std::abort();  // every refusal is a client or server error with a name
    }
    // A head that passed has a request line with a path and no %00.
    if (!problem && data.substr(0, length).find("%00") != std::string_view::npos) {
        auto target = data.substr(0, data.find(' ', data.find(' ') + 1));
        if (target.find("%00") != std::string_view::npos) {
            std::abort();
        }
    }
    return 0;
}
