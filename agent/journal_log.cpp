#include "agent/journal_log.hpp"

#include <errno.h>  // program_invocation_short_name
#include <systemd/sd-journal.h>

namespace imagebuild::agent {

void logEvent(int priority, const char* messageId, const std::string& buildId,
              const std::string& message) {
    std::string mid = messageId[0] ? std::string("MESSAGE_ID=") + messageId : "";
    std::string bid = buildId.empty() ? "" : "IMAGEBUILD_ID=" + buildId;
    // sd_journal_send stops at the first NULL, so optional fields go last.
    const char* a = !mid.empty() ? mid.c_str() : (!bid.empty() ? bid.c_str() : nullptr);
    const char* b = !mid.empty() && !bid.empty() ? bid.c_str() : nullptr;
    // The agent's helpers (record-result, build hook, webhook) log through
    // here too: each under its own name, so `journalctl -t` tells them apart.
    sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%i", priority, "SYSLOG_IDENTIFIER=%s",
                    program_invocation_short_name, a, b, nullptr);
}

void logAttemptStart(const std::string& buildId, std::uint32_t attempt,
                     const std::string& message) {
    sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%i", LOG_NOTICE,
                    "SYSLOG_IDENTIFIER=%s", program_invocation_short_name, "IMAGEBUILD_ID=%s",
                    buildId.c_str(), "IMAGEBUILD_ATTEMPT=%u", static_cast<unsigned>(attempt),
                    nullptr);
}

}  // namespace imagebuild::agent
