// The model of one build: its spec, its place in the lifecycle, and the
// record of it on disk (record.json in the build's state directory).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/side_repo.hpp"
#include "common/build_info.hpp"
#include "common/build_spec.hpp"

namespace imagebuild::agent {

namespace state {
inline constexpr const char* kQueued = "queued";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kSucceeded = "succeeded";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kTimedOut = "timed-out";
}  // namespace state

struct BuildRecord {
    std::string id;
    std::uint64_t number = 0;
    BuildSpec spec;  // spec.kickstart is kept in ks.cfg, not in the record
    std::string state = state::kQueued;
    std::string result;  // empty until final
    std::int32_t exitStatus = -1;
    // Why the build ended as it did when its own log cannot say (systemd
    // refused the unit, the program is missing...); empty otherwise.
    std::string reason;
    std::string unit;
    std::uint32_t submitterUid = 0;
    // Who submitted it, as a person reads it (Build1.Submitter): the spec's
    // "submitter" if given, else userNameOf(submitterUid).
    std::string submitter;
    std::uint64_t submittedAt = 0;
    std::uint64_t startedAt = 0;
    std::uint64_t finishedAt = 0;
    std::uint64_t timeoutUSec = 0;
    std::string monitorUrl;
    std::vector<Artifact> artifacts;
    bool cancelRequested = false;  // persisted before the unit is stopped
    bool pinned = false;           // kept by Cleanup (Build1.SetPinned)
    // The build this one re-runs (Build1.RetryOf); empty for a new spec.
    std::string retryOf;
    // Why it did not succeed (failure_class::*); empty while it runs or
    // when it succeeded.
    std::string failureClass;
    ResourceUsage resources;             // of the last attempt's unit
    std::uint64_t stagedAt = 0;          // when its end-of-build step staged it
    std::uint32_t attempt = 1;           // a type's retry = infra:N runs 2, 3, ...
    std::vector<BuildAttempt> attempts;  // the earlier attempts, oldest first
    // The packages of its side repository (builds/<id>/repo/), if any.
    std::vector<SidePackage> sidePackages;
    // Since when its log has been silent for the type's stall_timeout (usec
    // since the epoch); 0: not stalled. Written with the record for the
    // stall mail and the next agent; the stall watcher keeps it true.
    std::uint64_t stalledSince = 0;
    // The Reason a cancel by the agent itself gives the build (stall_action
    // = cancel: "stalled for 30 min"); empty for a caller's cancel.
    std::string cancelReason;

    bool finished() const { return !result.empty(); }
};

// The user name of uid (getpwuid_r), or "uid N" when it has none. Cached per
// thread: loading thousands of records asks NSS once per distinct uid.
std::string userNameOf(std::uint32_t uid);

nlohmann::json recordToJson(const BuildRecord& record);
// Throws nlohmann::json::exception or std::invalid_argument on a bad record.
// A record without "submitter" (from an older agent) gets userNameOf(uid).
BuildRecord recordFromJson(const nlohmann::json& j);
// The record as clients see it (common/build_json.hpp's shape), host included.
BuildInfo buildInfoOf(const BuildRecord& record);

// What the unit's ExecStopPost= recorder wrote: systemd's $SERVICE_RESULT,
// $EXIT_CODE and $EXIT_STATUS, as KEY=VALUE lines.
struct UnitOutcome {
    std::string serviceResult;  // success, exit-code, signal, timeout, ...
    std::string exitCode;       // exited, killed, dumped
    std::string exitStatus;     // a number, or a signal name
    std::uint64_t finishedAt = 0;
    // What the unit's cgroup said it used, read by the recorder while the
    // cgroup still existed (wallUsec is the agent's: finished - started).
    ResourceUsage resources;
};

std::string formatOutcome(const UnitOutcome& outcome);
std::optional<UnitOutcome> parseOutcome(std::string_view text);

struct FinalState {
    std::string state;        // succeeded, failed, cancelled, timed-out
    std::int32_t exitStatus;  // the exit status, 128+signal if killed, -1 if unknown
};
FinalState finalStateOf(const UnitOutcome& outcome, bool cancelRequested);

}  // namespace imagebuild::agent
