// When a running build's log has been silent for its type's stall_timeout,
// the build is stalled, until its next line. The bookkeeping of that, with
// no journal and no clock in it (the watcher, stall_watcher.hpp, feeds it
// the lines it reads and the time), so every case is a unit test.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imagebuild::agent {

class StallTracker {
public:
    // Follows build id from lastLine (usec since the epoch: its last line,
    // or its start); stalledSince: the stall a record already carries.
    void watch(const std::string& id, std::uint64_t lastLine, std::uint64_t timeoutUsec,
               std::uint64_t stalledSince = 0);
    void unwatch(const std::string& id);
    bool watching(const std::string& id) const { return builds_.count(id) != 0; }
    std::vector<std::string> ids() const;
    // The oldest last line of all: where a reader starts to miss nothing.
    std::optional<std::uint64_t> oldestLastLine() const;

    // A line of id written at `at`. True when it ends the build's stall.
    bool line(const std::string& id, std::uint64_t at);
    // The builds whose silence reached their timeout by now, newly stalled
    // (each is returned once per stall), with their last line's time.
    std::vector<std::pair<std::string, std::uint64_t>> expire(std::uint64_t now);
    // When the next build would stall, if no line comes (usec since the epoch).
    std::optional<std::uint64_t> nextDue() const;

private:
    struct Build {
        std::uint64_t lastLine = 0;
        std::uint64_t timeoutUsec = 0;
        std::uint64_t stalledSince = 0;
    };
    std::map<std::string, Build> builds_;
};

// "stalled for 30 min", "stalled for 1 h 5 min", "stalled for 45 s": the
// Reason of a build stall_action = cancel cancelled, silent for usec.
std::string stallReason(std::uint64_t silentUsec);

}  // namespace imagebuild::agent
