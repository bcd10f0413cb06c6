#include "agent/webhook.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "agent/journal_log.hpp"
#include "agent/webhook_address.hpp"
#include "common/atomic_file.hpp"
#include "common/build_json.hpp"
#include "common/http_client.hpp"
#include "imagebuild_config.h"

namespace imagebuild::agent {

namespace {

using std::chrono::milliseconds;

// Answers are read only for their status; a webhook that sends a lot back
// is cut off rather than held in memory.
constexpr std::uint64_t kMaxAnswerBytes = 64 * 1024;

// The step that failed, in the words of the build's log.
std::string stepWords(HttpStep step) {
    switch (step) {
        case HttpStep::Resolve:
            return "resolving the host";
        case HttpStep::Connect:
            return "connecting";
        case HttpStep::Send:
            return "sending the request";
        case HttpStep::Receive:
            break;
    }
    return "reading the answer";
}

}  // namespace

std::string webhookUrlFor(const BuildRecord& record, const Config& config) {
    return record.spec.webhook.empty() ? config.webhook.url : record.spec.webhook;
}

bool retryable(unsigned status) {
    return status == 0 || status == 408 || status == 429 || status >= 500;
}

WebhookAttempt postJson(const HttpUrl& url, const std::string& body, const std::string& event,
                        milliseconds stepTimeout, bool allowPrivate) {
    HttpClientOptions options;
    options.userAgent = std::string("imagebuild-webhook/") + IMAGEBUILD_VERSION;
    options.bodyLimit = kMaxAnswerBytes;
    if (!allowPrivate) {
        options.refuseAddress = [](const boost::asio::ip::address& address) -> std::string {
            auto kind = internalAddressKind(address);
            return kind.empty() ? kind
                                : fmt::format("{} is a {} address", address.to_string(), kind);
        };
    }
    HttpClient client(url, std::move(options));
    HttpRequest request{
        "POST", url.target, body, "application/json", {{"X-Imagebuild-Event", event}}};
    try {
        auto answer = client.request(request, stepTimeout);
        if (answer.status < 200 || answer.status >= 300) {
            return {fmt::format("the server answered {} {}", answer.status, answer.reason),
                    answer.status};
        }
        return {"", answer.status};
    } catch (const HttpError& e) {
        if (e.refused()) {
            return {fmt::format("not sent: {} ({}); webhooks go to public addresses only "
                                "unless imagebuild.conf has [webhook] allow_private = yes",
                                url.host, e.detail()),
                    0, true};
        }
        auto what =
            e.timedOut() ? fmt::format("no progress in {} ms", stepTimeout.count()) : e.detail();
        return {fmt::format("{}: {}", stepWords(e.step()), what), 0};
    }
}

WebhookDelivery deliverWithRetries(const WebhookPolicy& policy,
                                   const std::function<WebhookAttempt(milliseconds)>& attempt,
                                   const Sleep& sleep, const Clock& now) {
    WebhookDelivery d;
    auto deadline = now() + policy.budget;
    for (std::size_t i = 0;; ++i) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - now());
        auto result = attempt(std::min(policy.stepTimeout, std::max(left, milliseconds(1))));
        ++d.attempts;
        if (result.error.empty()) {
            d.delivered = true;
            d.detail.clear();
            return d;
        }
        d.detail = result.error;
        if (result.refused || !retryable(result.status) || i >= policy.pauses.size()) {
            return d;
        }
        // Another attempt only if it would have its full pause and a step.
        if (now() + policy.pauses[i] + milliseconds(100) > deadline) {
            return d;
        }
        sleep(policy.pauses[i]);
    }
}

WebhookDelivery deliverWebhook(const std::string& url, const std::string& body,
                               const std::string& buildId, const std::string& event,
                               const WebhookPolicy& policy) {
    WebhookDelivery d;
    std::string why;
    auto parsed = parseHttpUrl(url, &why);
    if (!parsed) {
        d.detail = fmt::format("the URL is not usable: {}", why);
    } else {
        d = deliverWithRetries(
            policy,
            [&](milliseconds step) {
                return postJson(*parsed, body, event, step, policy.allowPrivate);
            },
            [](milliseconds pause) { std::this_thread::sleep_for(pause); },
            [] { return std::chrono::steady_clock::now(); });
    }
    if (d.delivered) {
        logEvent(LOG_INFO, message_id::kWebhookDelivered, buildId,
                 fmt::format("webhook of build {} ({}) delivered to {} (attempt {})", buildId,
                             event, url, d.attempts));
    } else {
        logEvent(LOG_WARNING, message_id::kWebhookFailed, buildId,
                 fmt::format("webhook of build {} ({}) to {} failed after {} attempt(s): {}",
                             buildId, event, url, d.attempts, d.detail));
    }
    return d;
}

bool finalWebhookHandled(const std::filesystem::path& buildDir) {
    return std::filesystem::exists(buildDir / "webhook-finished");
}

std::string postFinalOnce(const std::filesystem::path& buildDir, const std::string& url,
                          const BuildInfo& info, bool allowPrivate) {
    if (url.empty()) {
        return "not sent: no webhook";
    }
    auto marker = buildDir / "webhook-finished";
    if (auto previous = readFile(marker)) {
        return "already handled: " + *previous;
    }
    writeFileAtomic(marker, "posting\n");
    // The end-of-build step shares the build unit's stop timeout (30 s,
    // unit_client.cpp) with staging and the mail: a smaller budget here.
    WebhookPolicy policy;
    policy.budget = kFinalWebhookBudget;
    policy.allowPrivate = allowPrivate;
    auto d = deliverWebhook(url, nlohmann::json(info).dump(), info.id, info.state, policy);
    auto outcome = d.delivered ? std::string("delivered") : "failed: " + d.detail;
    writeFileAtomic(marker, outcome + "\n");
    return outcome;
}

}  // namespace imagebuild::agent
