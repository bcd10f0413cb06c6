// Handing a mail to the host's sendmail interface, at most once per build
// and kind, recorded in the build's directory.
#pragma once

#include <filesystem>
#include <string>

#include "common/config.hpp"
#include "common/mail_message.hpp"

namespace imagebuild::agent {

// Pipes the rendered message into `<sendmail argv> -- <recipients>` (never
// through a shell) and waits for it. Returns "" on success, else what went
// wrong, naming the program and its exit status or signal.
std::string sendMail(const MailConfig& config, const MailMessage& message);

enum class MailOutcome { kSent, kAlreadyHandled, kFailed, kNotNeeded };

struct MailAttempt {
    MailOutcome outcome;
    std::string detail;  // the failure, or why nothing was sent
};

// Sends message once for this build: the marker <buildDir>/mail-<kind> is
// written (atomically) *before* sendmail runs, so a crash and a retry can
// never send it twice; afterwards it records "sent" or the failure.
MailAttempt sendOnce(const std::filesystem::path& buildDir, const std::string& kind,
                     const MailConfig& config, const MailMessage& message);

}  // namespace imagebuild::agent
