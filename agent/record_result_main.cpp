// imagebuild-record-result <build dir>: the ExecStopPost= of every build
// unit. Writes systemd's $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS into
// <build dir>/outcome, atomically, so a build's end is on disk even when no
// agent is running to see it. It runs in the unit's cgroup while that still
// exists: what the unit used (CPU time, peak memory, IO bytes, as far as the
// host's controllers tell) goes into the same file.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "agent/build_record.hpp"
#include "agent/cgroup_usage.hpp"
#include "common/atomic_file.hpp"
#include "common/clock.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: imagebuild-record-result BUILD-DIR\n";
        return 2;
    }
    auto env = [](const char* name) {
        const char* v = std::getenv(name);
        return std::string(v ? v : "");
    };
    imagebuild::agent::UnitOutcome outcome;
    outcome.serviceResult = env("SERVICE_RESULT");
    outcome.exitCode = env("EXIT_CODE");
    outcome.exitStatus = env("EXIT_STATUS");
    outcome.finishedAt = imagebuild::realtimeUsec();
    if (auto self = imagebuild::readFile("/proc/self/cgroup")) {
        auto cgroup = imagebuild::agent::unifiedCgroupOf(*self);
        if (!cgroup.empty()) {
            outcome.resources = imagebuild::agent::readCgroupUsage("/sys/fs/cgroup", cgroup);
        }
    }
    if (outcome.serviceResult.empty()) {
        std::cerr
            << "imagebuild-record-result: $SERVICE_RESULT is not set; run me as ExecStopPost=\n";
        return 2;
    }
    try {
        imagebuild::writeFileAtomic(std::filesystem::path(argv[1]) / "outcome",
                                    imagebuild::agent::formatOutcome(outcome));
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-record-result: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
