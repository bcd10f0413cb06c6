#include "common/build_notification.hpp"

#include <fmt/format.h>

namespace imagebuild {

namespace {

std::string utcTime(std::uint64_t usec) {
    if (usec == 0) {
        return "-";
    }
    std::time_t seconds = static_cast<std::time_t>(usec / 1000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &utc);
    return buffer;
}

std::string describe(const BuildInfo& build) {
    std::string text;
    text += fmt::format("  id:        {}\n", build.id);
    text += fmt::format("  name:      {}\n", build.name.empty() ? "-" : build.name);
    text += fmt::format("  type:      {}\n", build.type);
    text += fmt::format("  arch:      {}\n", build.arch);
    text += fmt::format("  release:   {}\n", build.release);
    for (const auto& [key, value] : build.labels) {
        text += fmt::format("  label:     {}={}\n", key, value);
    }
    text += fmt::format("  submitted: {}\n", utcTime(build.submittedAt));
    return text;
}

std::string monitorLines(const BuildInfo& build, const NotificationContext& context) {
    std::string text;
    if (!build.monitorUrl.empty()) {
        text += fmt::format("  {}\n", build.monitorUrl);
    } else {
        text += "  (no monitor URL: [forwarder] public_url= is not configured)\n";
    }
    text += fmt::format("  imagebuildctl status {}\n", build.id);
    text += fmt::format("  imagebuildctl log -f {}\n", build.id);
    text += fmt::format("  journalctl -f IMAGEBUILD_ID={}    (on {})\n", build.id, context.host);
    return text;
}

// From, To, Date and a Message-ID unique to this build and kind of mail.
MailMessage envelope(const BuildInfo& build, const NotificationContext& context, const char* kind) {
    MailMessage mail;
    mail.from = context.from;
    mail.to = build.notify;
    mail.date = context.now;
    mail.messageId = fmt::format("{}.{}.{}@{}", build.id, kind, context.now, context.host);
    return mail;
}

std::string subjectTail(const BuildInfo& build) {
    return fmt::format("{} {} {}{}", build.type, build.arch, build.release,
                       build.name.empty() ? "" : " (" + build.name + ")");
}

std::string artifactLines(const BuildInfo& build, const NotificationContext& context,
                          const StagingReport& staging) {
    std::string text;
    if (build.artifacts.empty()) {
        text += "  (none)\n";
    }
    for (const auto& artifact : build.artifacts) {
        text += fmt::format("  {}  {} bytes\n    sha256 {}\n", artifact.name, artifact.size,
                            artifact.sha256.empty() ? "(not computed)" : artifact.sha256);
        if (!context.publicUrl.empty()) {
            text +=
                fmt::format("    {}/artifacts/{}/{}\n", context.publicUrl, build.id, artifact.name);
        }
    }
    if (!staging.stagingDir.empty()) {
        text += fmt::format("  on {}: {}\n", context.host, staging.stagingDir);
    }
    return text;
}

}  // namespace

std::string humanDuration(std::uint64_t usec) {
    std::uint64_t seconds = usec / 1000000;
    if (seconds >= 3600) {
        return fmt::format("{} h {:02} min {:02} s", seconds / 3600, seconds % 3600 / 60,
                           seconds % 60);
    }
    if (seconds >= 60) {
        return fmt::format("{} min {:02} s", seconds / 60, seconds % 60);
    }
    return fmt::format("{} s", seconds);
}

MailMessage submissionMail(const BuildInfo& build, const NotificationContext& context) {
    auto mail = envelope(build, context, "submitted");
    mail.subject = fmt::format("[imagebuild] {} submitted: {}", build.id, subjectTail(build));
    mail.body = fmt::format("imagebuild accepted build {} on {}.\n\n", build.id, context.host);
    mail.body += describe(build);
    mail.body += "\nFollow it live:\n" + monitorLines(build, context);
    mail.body += "\nA second mail follows when the build ends.\n";
    return mail;
}

MailMessage stallMail(const BuildInfo& build, const NotificationContext& context, bool cancels) {
    auto mail = envelope(build, context, "stalled");
    mail.subject = fmt::format("[imagebuild] {} stalled: {}", build.id, subjectTail(build));
    auto now = static_cast<std::uint64_t>(context.now) * 1000000;
    mail.body = fmt::format("Build {} on {} has written no log line since {} ({} ago).\n\n",
                            build.id, context.host, utcTime(build.stalledSince),
                            humanDuration(now > build.stalledSince ? now - build.stalledSince : 0));
    mail.body += describe(build);
    mail.body += "\nIts last lines and what it does now:\n" + monitorLines(build, context);
    mail.body += cancels ? "\nIts image type cancels a stalled build (stall_action = cancel): a "
                           "second mail follows when it has ended.\n"
                         : fmt::format(
                               "\nIt still runs: it may be waiting on something slow. "
                               "Cancel it with\n  imagebuildctl cancel {}\n",
                               build.id);
    return mail;
}

MailMessage finalMail(const BuildInfo& build, const NotificationContext& context,
                      const StagingReport& staging, const std::vector<std::string>& logTail) {
    std::string result = build.result.empty() ? build.state : build.result;
    std::uint64_t duration = build.finishedAt > build.startedAt && build.startedAt != 0
                                 ? build.finishedAt - build.startedAt
                                 : 0;
    auto mail = envelope(build, context, "finished");
    mail.subject = fmt::format("[imagebuild] {} {}: {}", build.id, result, subjectTail(build));
    mail.body = fmt::format("Build {} {} on {} after {}.\n\n", build.id, result, context.host,
                            humanDuration(duration));
    mail.body += describe(build);
    mail.body += fmt::format("  started:   {}\n  finished:  {}\n  exit status: {}\n",
                             utcTime(build.startedAt), utcTime(build.finishedAt),
                             build.exitStatus < 0 ? "-" : std::to_string(build.exitStatus));
    if (!build.failureClass.empty()) {
        mail.body += fmt::format("  failure class: {}\n", build.failureClass);
    }
    if (!build.reason.empty()) {
        mail.body += fmt::format("  reason:    {}\n", build.reason);
    }
    for (const auto& a : build.attempts) {
        mail.body += fmt::format("  attempt {}: {}{}{}{}\n", a.attempt, a.state,
                                 a.failureClass.empty() ? "" : " (" + a.failureClass + ")",
                                 a.reason.empty() ? "" : ": ", a.reason);
    }
    if (build.resources.cpuUsec) {
        mail.body += fmt::format("  CPU time:  {}\n", humanDuration(*build.resources.cpuUsec));
    }
    mail.body += "\nArtifacts:\n" + artifactLines(build, context, staging);
    if (!staging.problems.empty()) {
        mail.body += "\nStaging problems:\n";
        for (const auto& problem : staging.problems) {
            mail.body += "  " + problem + "\n";
        }
    }
    if (result != "succeeded") {
        mail.body += fmt::format("\nLast {} log lines:\n", logTail.size());
        if (logTail.empty()) {
            mail.body += "  (the journal holds no line of this build)\n";
        }
        for (const auto& line : logTail) {
            mail.body += "  " + line + "\n";
        }
    }
    mail.body += "\nLog and details:\n" + monitorLines(build, context);
    return mail;
}

}  // namespace imagebuild
