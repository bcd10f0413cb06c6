#include "agent/journal_log.hpp"

#include <systemd/sd-journal.h>

namespace imagebuild::agent {

void logEvent(int priority, const char* messageId, const std::string& buildId,
              const std::string& message) {
    std::string mid = messageId[0] ? std::string("MESSAGE_ID=") + messageId : "";
    std::string bid = buildId.empty() ? "" : "IMAGEBUILD_ID=" + buildId;
    // sd_journal_send stops at the first NULL, so optional fields go last.
    const char* a = !mid.empty() ? mid.c_str() : (!bid.empty() ? bid.c_str() : nullptr);
    const char* b = !mid.empty() && !bid.empty() ? bid.c_str() : nullptr;
    sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%i", priority,
                    "SYSLOG_IDENTIFIER=imagebuild-agent", a, b, nullptr);
}

}  // namespace imagebuild::agent
