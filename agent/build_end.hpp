// The work around a build that systemd runs for it, so that it happens
// even when no agent is running: the submission mail (a transient unit the
// agent starts after Submit) and, at the end of the build's own unit
// (ExecStopPost=, after the outcome recorder), staging, the final mail and
// the final record's webhook.
// Each is done at most once, recorded in the build's directory.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "agent/build_record.hpp"
#include "common/config.hpp"

namespace imagebuild::agent {

struct BuildEndReport {
    std::string result;  // the build's final state, from its recorded outcome
    std::size_t stagedFiles = 0;
    std::vector<std::string> problems;  // staging and mail problems, each naming its file
    std::string mail;                   // what happened to the mail
    std::string webhook;                // what happened to the final webhook
};

// Ends the build's log before staging reads it: common/build_log.hpp's
// markLogEnd(id, final state) in the unit; returns the problems.
using MarkLogEnd =
    std::function<std::vector<std::string>(const std::string& id, const std::string& state)>;

// buildDir: <state dir>/builds/<id>. Never throws for staging or mail
// problems (they are reported); throws std::runtime_error if the build's
// record cannot be read at all.
BuildEndReport finishBuild(const std::filesystem::path& buildDir, const Config& config,
                           const std::string& host, const MarkLogEnd& markEnd);

// The end systemd handed an imagebuild-end@ unit ($MONITOR_SERVICE_RESULT,
// $MONITOR_EXIT_CODE, $MONITOR_EXIT_STATUS), written as the build's outcome
// file unless its unit's recorder wrote one. Returns whether it wrote.
// Throws std::runtime_error if it cannot.
bool recordOutcomeOnce(const std::filesystem::path& buildDir, const UnitOutcome& outcome);

// Whether the build is queued for its next attempt (retry = infra:N): the
// agent has kept the ended attempt's outcome as outcome.<n>, and an
// imagebuild-end@ unit of that attempt has nothing to record or stage.
bool betweenAttempts(const std::filesystem::path& buildDir);

// Whether the end-of-build step ran already (its staging is recorded).
bool endOfBuildRan(const std::filesystem::path& buildDir);

// Sends the submission mail of the build, once. Returns what happened.
std::string mailSubmitted(const std::filesystem::path& buildDir, const Config& config,
                          const std::string& host);
// Sends the mail saying the build stalled (record.json's stalled_since), once.
std::string mailStalled(const std::filesystem::path& buildDir, const Config& config,
                        const std::string& host);

}  // namespace imagebuild::agent
