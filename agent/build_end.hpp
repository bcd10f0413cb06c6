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

// Sends the submission mail of the build, once. Returns what happened.
std::string mailSubmitted(const std::filesystem::path& buildDir, const Config& config,
                          const std::string& host);

}  // namespace imagebuild::agent
