#include "agent/notifications.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "agent/journal_log.hpp"
#include "agent/webhook.hpp"
#include "common/atomic_file.hpp"
#include "common/build_json.hpp"

namespace imagebuild::agent {

void Notifications::buildQueued(const BuildRecord& record) {
    sendMail(record, mailUnitSettingsFor(record, store_, options_.helpers), "submission mail");
    postWebhook(record);
}

void Notifications::buildStalled(const BuildRecord& record) {
    sendMail(record, stallMailUnitSettingsFor(record, store_, options_.helpers), "stall mail");
}

// The end-of-build step posts the final record, once (its marker,
// webhook-finished, says it did or is doing it). Posted here when it did not:
// a build whose unit never ran (cancelled while queued, refused by systemd),
// one interrupted, or one whose outcome could not be written (the step then
// posts nothing rather than "running"). Never both.
void Notifications::buildFinished(const BuildRecord& record, bool /*outcomeRecorded*/) {
    if (!finalWebhookHandled(store_.buildDir(record.id))) {
        postWebhook(record);
    }
}

void Notifications::sendMail(const BuildRecord& record, const UnitSettings& settings,
                             const char* what) {
    if (record.spec.notify.empty() || !options_.config.mail.enabled ||
        options_.helpers.buildHook.empty()) {
        return;
    }
    auto id = record.id;
    ++pendingCalls_;
    units_.start(settings, [this, id, what](const std::string& error) {
        --pendingCalls_;
        if (!error.empty()) {
            logEvent(LOG_WARNING, "", id,
                     fmt::format("cannot start the {} of {}: {}", what, id, error));
        }
    });
}

// The record is handed over in a file of the build's directory (written
// atomically), not as an argument: it can exceed what a command line
// comfortably holds (labels, artifact lists).
void Notifications::postWebhook(const BuildRecord& record) {
    auto url = webhookUrlFor(record, options_.config);
    if (url.empty() || options_.helpers.webhook.empty()) {
        return;
    }
    auto id = record.id;
    auto body = store_.buildDir(id) / ("webhook-" + record.state + ".json");
    try {
        writeFileAtomic(body, nlohmann::json(buildInfoOf(record)).dump(), 0600, Sync::kNone);
    } catch (const std::exception& e) {
        logEvent(LOG_WARNING, message_id::kWebhookFailed, id,
                 fmt::format("cannot write the webhook body of {}: {}", id, e.what()));
        return;
    }
    ++pendingCalls_;
    units_.start(
        webhookUnitSettingsFor(record, record.state, url, body.string(), store_, options_.helpers),
        [this, id](const std::string& error) {
            --pendingCalls_;
            if (!error.empty()) {
                logEvent(LOG_WARNING, message_id::kWebhookFailed, id,
                         fmt::format("cannot start the webhook of {}: {}", id, error));
            }
        });
}

}  // namespace imagebuild::agent
