#include "agent/build_end.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "agent/build_outcome.hpp"
#include "agent/build_record.hpp"
#include "agent/mailer.hpp"
#include "agent/staging.hpp"
#include "agent/state_store.hpp"
#include "agent/webhook.hpp"
#include "common/atomic_file.hpp"
#include "common/build_id.hpp"
#include "common/build_json.hpp"
#include "common/build_log.hpp"
#include "common/build_notification.hpp"
#include "common/clock.hpp"

namespace fs = std::filesystem;

namespace imagebuild::agent {

namespace {

constexpr std::uint64_t kLogTailLines = 50;

BuildRecord readRecord(const fs::path& buildDir) {
    auto text = readFile(buildDir / "record.json");
    if (!text) {
        throw std::runtime_error(fmt::format("{} has no record.json", buildDir.string()));
    }
    return recordFromJson(nlohmann::json::parse(*text));
}

// The record as the build ended, from what the unit's ExecStopPost= recorder
// wrote (the agent may not have seen the end yet).
void applyOutcome(BuildRecord& record, const StateStore& store) {
    if (record.finished()) {
        return;
    }
    auto outcome = store.readOutcome(record.id);
    if (!outcome) {
        return;
    }
    auto final = finalStateOf(*outcome, record.cancelRequested);
    record.state = record.result = final.state;
    record.exitStatus = final.exitStatus;
    record.finishedAt = outcome->finishedAt;
    record.resources = resourcesOf(*outcome, record.startedAt);
    record.failureClass =
        failureClassOf({final.state, outcome, record.cancelRequested, record.reason});
}

// Whether the agent runs this attempt again (the type's retry = infra:N):
// then it is not the build's end, and nothing here happens for it.
bool runsAgain(const BuildRecord& record, const Config& config) {
    auto type = config.types.find(record.spec.type);
    return record.finished() && type != config.types.end() &&
           shouldRetry(type->second.retry, record.failureClass, record.attempt);
}

NotificationContext contextFor(const Config& config, const std::string& host) {
    return {host, config.mail.from.empty() ? "imagebuild@" + host : config.mail.from,
            config.mail.publicUrl, std::time(nullptr)};
}

// The last lines the build itself wrote, up to its end mark (read after
// it), escaped as the monitor's HTML and SSE show them. Lines our helpers
// log about the build (SYSLOG_IDENTIFIER imagebuild-*: a webhook delivered
// late, the end-of-build step) are in its log but not in this excerpt: a
// slow webhook must not push the build's last lines out of the mail.
std::vector<std::string> logTail(const std::string& id) {
    // Room for the helpers' lines among the last entries, and the end mark.
    constexpr std::uint64_t kHelperLinesRoom = 64;
    std::vector<std::string> lines;
    try {
        BuildLog log(id, {.cursor = false, .meta = true});
        log.seekLast(kLogTailLines + kHelperLinesRoom + 1);
        while (auto line = log.next()) {
            if (!line->notice && line->identifier.starts_with("imagebuild-")) {
                continue;
            }
            // A mail body is text: no CR, NUL or invalid UTF-8 in it.
            lines.push_back(escapeLogText(line->text));
        }
        if (lines.size() > kLogTailLines) {
            lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(kLogTailLines));
        }
    } catch (const std::exception&) {
        // The mail says so: it is built from the record, not from the log.
    }
    return lines;
}

// Staging runs once: its result is kept in staging.json, and a second run
// (a retry after a crash) reads it instead of staging again.
StagingResult stageOnce(const fs::path& buildDir, const BuildRecord& record, const Config& config,
                        const std::string& host) {
    if (auto staged = loadStagingResult(buildDir)) {
        return *staged;
    }
    StagingOptions options;
    if (auto type = config.types.find(record.spec.type); type != config.types.end()) {
        options.artifactPatterns = type->second.artifacts;
        options.tools = type->second.tools;
    }
    options.copyTo = config.staging.copyTo;
    options.host = host;
    auto result = stageBuild(buildDir, record, options);
    result.stagedAt = realtimeUsec();
    saveStagingResult(buildDir, result);
    return result;
}

std::string describe(const MailAttempt& attempt) {
    switch (attempt.outcome) {
        case MailOutcome::kSent:
            return "sent";
        case MailOutcome::kAlreadyHandled:
            return attempt.detail;
        case MailOutcome::kNotNeeded:
            return "not sent: " + attempt.detail;
        case MailOutcome::kFailed:
            break;
    }
    return "failed: " + attempt.detail;
}

}  // namespace

BuildEndReport finishBuild(const fs::path& buildDir, const Config& config, const std::string& host,
                           const MarkLogEnd& markEnd) {
    StateStore store(buildDir.parent_path().parent_path());
    auto record = readRecord(buildDir);
    applyOutcome(record, store);

    BuildEndReport report;
    report.result = record.result.empty() ? record.state : record.result;
    if (runsAgain(record, config)) {
        // No end mark, staging, mail or webhook: the next attempt's unit
        // continues the same log, and the last attempt's end is the build's.
        report.mail = report.webhook = fmt::format(
            "not sent: attempt {} failed ({}) and runs again", record.attempt, record.failureClass);
        return report;
    }
    // The build's processes are gone: once journald has stored what they
    // wrote, the end mark tells every reader its log is complete. Before
    // staging, which reads the log up to it.
    // Once: staging follows the mark, so a build already staged has it (a
    // second run, from imagebuild-end@ after the unit's own step, adds none).
    if (!endOfBuildRan(buildDir)) {
        for (auto& problem : markEnd(record.id, report.result)) {
            report.problems.push_back(std::move(problem));
        }
    }
    auto staging = stageOnce(buildDir, record, config, host);
    report.stagedFiles = staging.files.size();
    report.problems.insert(report.problems.end(), staging.problems.begin(), staging.problems.end());

    auto info = buildInfoOf(record);
    info.artifacts = staging.files;
    if (!record.finished()) {
        // No outcome file (it could not be written): a final mail or webhook
        // would say "running". The agent records the end and posts the
        // final webhook itself (Notifications::buildFinished).
        report.mail = report.webhook = "not sent: the build's outcome is not recorded";
        report.problems.push_back("no outcome recorded in " + buildDir.string());
        return report;
    }
    auto mail = finalMail(
        info, contextFor(config, host), {staging.dir.string(), staging.problems},
        record.result == state::kSucceeded ? std::vector<std::string>{} : logTail(record.id));
    auto attempt = sendOnce(buildDir, "finished", config.mail, mail);
    report.mail = describe(attempt);
    if (attempt.outcome == MailOutcome::kFailed) {
        report.problems.push_back("final mail: " + attempt.detail);
    }
    // Last: a slow webhook (bounded by WebhookPolicy's budget) never holds
    // up staging or the mail.
    report.webhook =
        postFinalOnce(buildDir, webhookUrlFor(record, config), info, config.webhook.allowPrivate);
    return report;
}

bool recordOutcomeOnce(const fs::path& buildDir, const UnitOutcome& outcome) {
    StateStore store(buildDir.parent_path().parent_path());
    if (store.readOutcome(buildDir.filename().string())) {
        return false;
    }
    if (betweenAttempts(buildDir)) {
        return false;
    }
    writeFileAtomic(buildDir / "outcome", formatOutcome(outcome));
    return true;
}

bool betweenAttempts(const fs::path& buildDir) {
    try {
        auto record = readRecord(buildDir);
        return record.state == state::kQueued && record.attempt > 1;
    } catch (const std::exception&) {
        return false;
    }
}

bool endOfBuildRan(const fs::path& buildDir) {
    return loadStagingResult(buildDir).has_value();
}

std::string mailSubmitted(const fs::path& buildDir, const Config& config, const std::string& host) {
    auto record = readRecord(buildDir);
    auto mail = submissionMail(buildInfoOf(record), contextFor(config, host));
    return describe(sendOnce(buildDir, "submitted", config.mail, mail));
}

std::string mailStalled(const fs::path& buildDir, const Config& config, const std::string& host) {
    auto record = readRecord(buildDir);
    auto type = config.types.find(record.spec.type);
    bool cancels = type != config.types.end() && type->second.stallAction == StallAction::kCancel;
    auto mail = stallMail(buildInfoOf(record), contextFor(config, host), cancels);
    return describe(sendOnce(buildDir, "stalled", config.mail, mail));
}

}  // namespace imagebuild::agent
