#include "agent/build_outcome.hpp"

#include <map>
#include <set>

namespace imagebuild::agent {

namespace {

// Signals a build's program does not send itself when it fails: the OOM
// killer's, systemctl kill's, a shutdown's, a terminal's.
bool sentFromOutside(const std::string& signalName) {
    static const std::set<std::string> outside{"KILL", "TERM", "HUP", "INT"};
    return outside.count(signalName) != 0;
}

bool infraOutcome(const UnitOutcome& o) {
    if (o.serviceResult == "oom-kill" || o.serviceResult == "resources" ||
        o.serviceResult == "start-limit-hit") {
        return true;
    }
    if (o.exitCode == "killed" || o.exitCode == "dumped") {
        return sentFromOutside(o.exitStatus);
    }
    if (o.exitCode == "exited") {
        char* end = nullptr;
        long status = std::strtol(o.exitStatus.c_str(), &end, 10);
        return end != nullptr && *end == '\0' && !o.exitStatus.empty() &&
               systemdExitStatusName(static_cast<std::int32_t>(status)) != nullptr;
    }
    return false;
}

}  // namespace

const char* systemdExitStatusName(std::int32_t status) {
    static const std::map<std::int32_t, const char*> names = {
        {200, "CHDIR"},
        {201, "NICE"},
        {202, "FDS"},
        {203, "EXEC"},
        {204, "MEMORY"},
        {205, "LIMITS"},
        {206, "OOM_ADJUST"},
        {207, "SIGNAL_MASK"},
        {208, "STDIN"},
        {209, "STDOUT"},
        {210, "CHROOT"},
        {211, "IOPRIO"},
        {212, "TIMERSLACK"},
        {213, "SECUREBITS"},
        {214, "SETSCHEDULER"},
        {215, "CPUAFFINITY"},
        {216, "GROUP"},
        {217, "USER"},
        {218, "CAPABILITIES"},
        {219, "CGROUP"},
        {220, "SETSID"},
        {222, "STDERR"},
        {224, "PAM"},
        {225, "NETWORK"},
        {226, "NAMESPACE"},
        {227, "NO_NEW_PRIVILEGES"},
        {228, "SECCOMP"},
        {233, "RUNTIME_DIRECTORY"},
        {238, "STATE_DIRECTORY"},
        {243, "CREDENTIALS"},
    };
    auto it = names.find(status);
    return it == names.end() ? nullptr : it->second;
}

std::string failureClassOf(const AttemptEnd& end) {
    if (end.finalState == state::kCancelled || end.cancelRequested) {
        return end.finalState == state::kSucceeded ? "" : failure_class::kCancelled;
    }
    if (end.finalState == state::kTimedOut ||
        (end.outcome && end.outcome->serviceResult == "timeout")) {
        return failure_class::kTimeout;
    }
    if (end.finalState != state::kFailed) {
        return "";
    }
    if (end.reason.starts_with("interrupted:") ||
        end.reason.find("no space left on ") != std::string::npos) {
        return failure_class::kInfra;
    }
    if (!end.outcome) {
        // It never ran, or ended with nothing recorded: systemd refused it,
        // its start job failed, or its unit vanished.
        return failure_class::kInfra;
    }
    return infraOutcome(*end.outcome) ? failure_class::kInfra : failure_class::kBuild;
}

ResourceUsage resourcesOf(const UnitOutcome& outcome, std::uint64_t startedAt) {
    auto usage = outcome.resources;
    usage.wallUsec.reset();
    if (startedAt != 0 && outcome.finishedAt >= startedAt) {
        usage.wallUsec = outcome.finishedAt - startedAt;
    }
    return usage;
}

bool shouldRetry(const RetryPolicy& policy, const std::string& failureClass,
                 std::uint32_t attempt) {
    return failureClass == failure_class::kInfra && attempt >= 1 && attempt <= policy.infra;
}

void beginNextAttempt(BuildRecord& r) {
    r.attempts.push_back({r.attempt, r.state, r.failureClass, r.reason, r.startedAt, r.finishedAt});
    ++r.attempt;
    r.state = state::kQueued;
    r.result.clear();
    r.exitStatus = -1;
    r.reason.clear();
    r.failureClass.clear();
    r.startedAt = 0;
    r.finishedAt = 0;
    r.resources = {};
    r.stagedAt = 0;
    r.artifacts.clear();
    r.cancelRequested = false;
}

}  // namespace imagebuild::agent
