// A build's webhook: its JSON record (common/build_json.hpp's shape, the
// same as GET /v1/builds/<id>) POSTed to an http:// URL at each state
// change, with Content-Type: application/json and X-Imagebuild-Event: the
// state. Delivery is best effort: bounded retries with backoff, a timeout on
// every step, every outcome logged with IMAGEBUILD_ID=, and never a change
// to the build's result.
//
// Who posts what: the agent starts imagebuild-webhook in a transient unit at
// "queued" and "running" (and for a build that ends without ever having had
// a unit); the build unit's end-of-build step (build_end.hpp) posts the
// final record itself, agent or no agent, once.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "agent/build_record.hpp"
#include "common/config.hpp"
#include "common/http_url.hpp"

namespace imagebuild::agent {

// Fixed (documented in docs/imagebuild.conf.md): 3 attempts, 1 s then 3 s
// apart, 5 s for each of resolve+connect, write and read, 30 s in all.
// Internal addresses (webhook_address.hpp) only with [webhook] allow_private.
struct WebhookPolicy {
    bool allowPrivate = false;
    std::chrono::milliseconds stepTimeout{5000};
    std::vector<std::chrono::milliseconds> pauses{std::chrono::milliseconds(1000),
                                                  std::chrono::milliseconds(3000)};
    std::chrono::milliseconds budget{30000};
};

// The spec's webhook, else the host's [webhook] url; empty: none.
std::string webhookUrlFor(const BuildRecord& record, const Config& config);

struct WebhookAttempt {
    std::string error;     // empty: delivered
    unsigned status = 0;   // the HTTP status, 0 if none came
    bool refused = false;  // not sent at all (an internal address): never retried
};

// One attempt; error is empty for a 2xx answer, else what went wrong. stepTimeout
// bounds each of connect, write and read. Without allowPrivate, only the
// resolved addresses that are public are connected to; none: refused.
WebhookAttempt postJson(const HttpUrl& url, const std::string& body, const std::string& event,
                        std::chrono::milliseconds stepTimeout, bool allowPrivate);

// An answer worth trying again: no answer at all (status 0), 408, 429, 5xx.
bool retryable(unsigned status);

struct WebhookDelivery {
    bool delivered = false;
    unsigned attempts = 0;
    std::string detail;  // the last failure
};

using Clock = std::function<std::chrono::steady_clock::time_point()>;
using Sleep = std::function<void(std::chrono::milliseconds)>;
// attempt gets the time it may take per step (the step timeout, less near
// the end of the budget). Stops at the first success, a non-retryable
// answer, the last pause, or when the budget would be overrun.
WebhookDelivery deliverWithRetries(
    const WebhookPolicy& policy,
    const std::function<WebhookAttempt(std::chrono::milliseconds)>& attempt, const Sleep& sleep,
    const Clock& now);

// Posts body to url under policy and logs the outcome (MESSAGE_ID
// webhook delivered / failed, IMAGEBUILD_ID=buildId). Never throws.
WebhookDelivery deliverWebhook(const std::string& url, const std::string& body,
                               const std::string& buildId, const std::string& event,
                               const WebhookPolicy& policy = {});

inline constexpr std::chrono::milliseconds kFinalWebhookBudget{15000};

// Whether the final record's webhook was posted (or is being posted) by
// postFinalOnce: its marker exists.
bool finalWebhookHandled(const std::filesystem::path& buildDir);

// The final record's webhook, once per build, within kFinalWebhookBudget: the marker
// <buildDir>/webhook-finished is written before posting (a retry after a
// crash never posts twice) and then records the outcome. Returns what
// happened, for the build's log.
std::string postFinalOnce(const std::filesystem::path& buildDir, const std::string& url,
                          const BuildInfo& info, bool allowPrivate);

}  // namespace imagebuild::agent
