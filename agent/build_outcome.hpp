// How an attempt of a build ended, as people and policies need it: its
// failure class (build, infra, timeout, cancelled) and whether a type's
// `retry = infra:N` runs it again as the next attempt of the same build.
// Pure: the lifecycle, the end-of-build step and the tests share it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/build_record.hpp"
#include "common/config.hpp"

namespace imagebuild::agent {

// What is known when an attempt ends.
struct AttemptEnd {
    std::string finalState;              // state::k*, from finalStateOf() or the lifecycle
    std::optional<UnitOutcome> outcome;  // the outcome file, if the unit wrote one
    bool cancelRequested = false;
    std::string reason;  // the record's Reason
};

// failure_class::*, or "" when the build succeeded (or has not ended):
// - cancelled: a cancel was asked (whatever the unit then did);
// - timeout: systemd stopped it at its time limit;
// - infra: the host, not the build: killed by the OOM killer or by a
//   signal someone else sends (KILL, TERM, HUP, INT), systemd could not set
//   up or start its program (exit status 200..243, a refused unit, a failed
//   start job), its filesystem was full, the host went down under it
//   (interrupted), or its unit vanished without an outcome;
// - build: the rest: its program exited non-zero or crashed (SEGV, ABRT...).
std::string failureClassOf(const AttemptEnd& end);

// systemd's name for an exit status it uses when it cannot set up or
// execute a unit's program (systemd.exec(5), "Process Exit Codes"), or
// nullptr.
const char* systemdExitStatusName(std::int32_t status);

// What the attempt's unit used (the outcome file's figures), with its wall
// time from startedAt to the outcome's finishedAt (unset if either is 0).
ResourceUsage resourcesOf(const UnitOutcome& outcome, std::uint64_t startedAt);

// Whether the attempt that just ended (1, 2, ...) with failureClass runs
// again under policy: only infra failures, at most policy.infra more times.
bool shouldRetry(const RetryPolicy& policy, const std::string& failureClass, std::uint32_t attempt);

// The record's current attempt, ended as it says (state, result, reason,
// class, times), moved into record.attempts; the record is queued again
// as the next attempt, with nothing of the old one's end left on it.
void beginNextAttempt(BuildRecord& record);

}  // namespace imagebuild::agent
