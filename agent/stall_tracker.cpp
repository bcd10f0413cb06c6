#include "agent/stall_tracker.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace imagebuild::agent {

void StallTracker::watch(const std::string& id, std::uint64_t lastLine, std::uint64_t timeoutUsec,
                         std::uint64_t stalledSince) {
    builds_[id] = {lastLine, timeoutUsec, stalledSince};
}

void StallTracker::unwatch(const std::string& id) {
    builds_.erase(id);
}

std::vector<std::string> StallTracker::ids() const {
    std::vector<std::string> out;
    for (const auto& [id, build] : builds_) {
        out.push_back(id);
    }
    return out;
}

std::optional<std::uint64_t> StallTracker::oldestLastLine() const {
    std::optional<std::uint64_t> oldest;
    for (const auto& [id, build] : builds_) {
        oldest = std::min(oldest.value_or(build.lastLine), build.lastLine);
    }
    return oldest;
}

bool StallTracker::line(const std::string& id, std::uint64_t at) {
    auto it = builds_.find(id);
    if (it == builds_.end() || at <= it->second.lastLine) {
        return false;  // not followed, or read again after a new seek
    }
    it->second.lastLine = at;
    bool wasStalled = it->second.stalledSince != 0;
    it->second.stalledSince = 0;
    return wasStalled;
}

std::vector<std::pair<std::string, std::uint64_t>> StallTracker::expire(std::uint64_t now) {
    std::vector<std::pair<std::string, std::uint64_t>> stalled;
    for (auto& [id, b] : builds_) {
        if (b.stalledSince == 0 && now >= b.lastLine + b.timeoutUsec) {
            // 0 means "not stalled": a last line at the epoch is 1 usec later.
            b.stalledSince = std::max<std::uint64_t>(b.lastLine, 1);
            stalled.emplace_back(id, b.stalledSince);
        }
    }
    return stalled;
}

std::optional<std::uint64_t> StallTracker::nextDue() const {
    std::optional<std::uint64_t> due;
    for (const auto& [id, b] : builds_) {
        if (b.stalledSince == 0) {
            due = std::min(due.value_or(b.lastLine + b.timeoutUsec), b.lastLine + b.timeoutUsec);
        }
    }
    return due;
}

std::string stallReason(std::uint64_t silentUsec) {
    auto seconds = silentUsec / 1'000'000;
    if (seconds >= 3600) {
        auto minutes = seconds % 3600 / 60;
        return minutes == 0 ? fmt::format("stalled for {} h", seconds / 3600)
                            : fmt::format("stalled for {} h {} min", seconds / 3600, minutes);
    }
    if (seconds >= 60) {
        return fmt::format("stalled for {} min", seconds / 60);
    }
    return fmt::format("stalled for {} s", seconds);
}

}  // namespace imagebuild::agent
