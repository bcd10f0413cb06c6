// At most so many log lines a second of one kind (the answers of 4xx and
// 5xx): a flood of failing requests (a host whose bus is gone answers
// every GET 503) must not become a flood of the journal, which would drop
// lines past its rate limit anyway and cost the forwarder a write each.
// The lines not logged are counted and said with the next one that is.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace imagebuild::forwarder {

class LogBudget {
public:
    using Clock = std::chrono::steady_clock;

    explicit LogBudget(unsigned perSecond) : perSecond_(perSecond) {}

    // Whether a line may be logged at `now`: if so, what it ends with to
    // say how many were not since the last one that was (notLoggedSuffix).
    // Thread-safe.
    std::optional<std::string> take(Clock::time_point now = Clock::now());

private:
    const unsigned perSecond_;
    std::mutex mutex_;
    Clock::time_point second_{};  // the start of the current second
    unsigned used_ = 0;           // lines logged in it
    std::uint64_t notLogged_ = 0;
};

// What a line says of the lines not logged before it: "" for none, else
// " (N more like it were not logged)".
std::string notLoggedSuffix(std::uint64_t notLogged);

}  // namespace imagebuild::forwarder
