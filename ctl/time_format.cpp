#include "ctl/time_format.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace imagebuild::ctl {

std::string formatTimestamp(std::uint64_t usec) {
    if (usec == 0) {
        return "-";
    }
    std::time_t seconds = static_cast<std::time_t>(usec / 1000000);
    std::tm tm{};
    localtime_r(&seconds, &tm);
    char buffer[64];
    if (std::strftime(buffer, sizeof buffer, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0) {
        return "-";
    }
    return buffer;
}

std::string formatDuration(std::uint64_t usec) {
    constexpr std::uint64_t kMs = 1000, kSec = 1000 * kMs, kMin = 60 * kSec, kHour = 60 * kMin,
                            kDay = 24 * kHour;
    if (usec < kSec) {
        return fmt::format("{}ms", usec / kMs);
    }
    if (usec < kMin) {
        return fmt::format("{}s", usec / kSec);
    }
    if (usec < kHour) {
        return fmt::format("{}min {}s", usec / kMin, usec % kMin / kSec);
    }
    if (usec < kDay) {
        return fmt::format("{}h {}min", usec / kHour, usec % kHour / kMin);
    }
    return fmt::format("{}d {}h", usec / kDay, usec % kDay / kHour);
}

std::string buildDuration(std::uint64_t startedAt, std::uint64_t finishedAt, std::uint64_t now) {
    if (startedAt == 0) {
        return "-";
    }
    auto end = finishedAt != 0 ? finishedAt : now;
    return formatDuration(end > startedAt ? end - startedAt : 0);
}

}  // namespace imagebuild::ctl
