// The agent's own log: structured journald entries. Every event about a
// build carries IMAGEBUILD_ID=, so `journalctl IMAGEBUILD_ID=<id>` shows the
// agent's view next to the build's own output, and each event kind has a
// MESSAGE_ID= so tools can pick them out without parsing text.
#pragma once

#include <syslog.h>

#include <cstdint>
#include <string>

namespace imagebuild::agent {

namespace message_id {
inline constexpr const char* kAgentStarted = "5131e74f3fba48dda9c7c89d93a3465a";
inline constexpr const char* kBuildQueued = "93a6dc550faf4eb9be0cb110b77869ef";
inline constexpr const char* kBuildStarted = "87057ed0f80345098344c46d0d7ebfdb";
inline constexpr const char* kBuildFinished = "c2d9552254b24c459152f1592d2e7b6e";
// The build could not start: systemd refused its unit, or its program is gone.
inline constexpr const char* kBuildStartFailed = "a23e22f45bd140169028c39cdf3887ad";
// An attempt failed for a reason of the host and runs again (retry = infra:N).
inline constexpr const char* kBuildAttemptFailed = "4d3c1b8e9f2a47e6b05d7a1c3e8f6b92";
inline constexpr const char* kBuildCancelRequested = "79379dea001544bd8d30479d112a4307";
inline constexpr const char* kAccessDenied = "0ee116e676e24d739fe0c52528f1d76d";
inline constexpr const char* kStateCorrupt = "889deadd7061417a86090a6b10bf228a";
// A record could not be written (a full disk): logged once until writes work.
inline constexpr const char* kStateWriteFailed = "0c43255b0d2f419cb1739c6c964863c7";
// The configuration is invalid: every call is answered ConfigInvalid.
inline constexpr const char* kConfigInvalid = "d1e1ecf258d74413ac80be12db48d96a";
inline constexpr const char* kAgentIdleExit = "6a575b3107e7473c9bbdd3f3e496758d";
inline constexpr const char* kBuildRemoved = "79acfb3165ee4dcd9b95d8abc580a2e6";
inline constexpr const char* kWebhookDelivered = "3f0b1e6a2c7d4d0e9a51c8b7e4f2a913";
inline constexpr const char* kWebhookFailed = "b6d94c2e07a84f3c8e1f5a2d9c3b7e60";
}  // namespace message_id

// messageId and buildId may be empty (the field is then left out).
void logEvent(int priority, const char* messageId, const std::string& buildId,
              const std::string& message);
// The line in a build's log that says a new attempt of it starts (a type's
// retry = infra:N), with IMAGEBUILD_ID and IMAGEBUILD_ATTEMPT: what
// `imagebuildctl log` shows between two attempts.
void logAttemptStart(const std::string& buildId, std::uint32_t attempt, const std::string& message);

inline void logInfo(const std::string& message) {
    logEvent(LOG_INFO, "", "", message);
}
inline void logWarning(const std::string& message) {
    logEvent(LOG_WARNING, "", "", message);
}
inline void logError(const std::string& message) {
    logEvent(LOG_ERR, "", "", message);
}

}  // namespace imagebuild::agent
