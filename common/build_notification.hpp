// The two mails of a build — on submission and at its end — built from the
// build's record alone, so a mail is complete even when the journal holds no
// line of the build.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "common/build_info.hpp"
#include "common/mail_message.hpp"

namespace imagebuild {

struct NotificationContext {
    std::string host;       // the build host's name
    std::string from;       // the sender address
    std::string publicUrl;  // the forwarder's public URL; empty if not configured
    std::time_t now = 0;
};

// What staging could not do, for the final mail and the record.
struct StagingReport {
    std::string stagingDir;             // where the artifacts are on the build host
    std::vector<std::string> problems;  // each a sentence naming the file
};

MailMessage submissionMail(const BuildInfo& build, const NotificationContext& context);

// logTail: the last lines of the build's log, included when the build did
// not succeed; empty means the journal had none.
MailMessage finalMail(const BuildInfo& build, const NotificationContext& context,
                      const StagingReport& staging, const std::vector<std::string>& logTail);

// The build's log has been silent since build.stalledSince; cancels: its
// type's stall_action cancels it.
MailMessage stallMail(const BuildInfo& build, const NotificationContext& context, bool cancels);

// "1 h 02 min 03 s", "4 min 05 s", "12 s".
std::string humanDuration(std::uint64_t usec);

}  // namespace imagebuild
