#include "agent/webhook.hpp"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/journal_log.hpp"
#include "agent/webhook_address.hpp"
#include "common/atomic_file.hpp"
#include "common/build_json.hpp"
#include "imagebuild_config.h"

namespace imagebuild::agent {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

// Answers are read only for their status; a webhook that sends a lot back
// is cut off rather than held in memory.
constexpr std::uint64_t kMaxAnswerBytes = 64 * 1024;

// The resolved endpoints a webhook may go to; `why` says what was dropped.
std::vector<tcp::endpoint> allowedEndpoints(const tcp::resolver::results_type& resolved,
                                            bool allowPrivate, std::string& why) {
    std::vector<tcp::endpoint> out;
    for (const auto& entry : resolved) {
        auto kind = allowPrivate ? std::string() : internalAddressKind(entry.endpoint().address());
        if (kind.empty()) {
            out.push_back(entry.endpoint());
        } else if (why.empty()) {
            why = fmt::format("{} is a {} address", entry.endpoint().address().to_string(), kind);
        }
    }
    return out;
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
    const char* step = "resolving the host";
    try {
        asio::io_context io;
        beast::tcp_stream stream(io);
        tcp::resolver resolver(io);
        std::string dropped;
        auto endpoints =
            allowedEndpoints(resolver.resolve(url.host, url.port), allowPrivate, dropped);
        if (endpoints.empty()) {
            return {fmt::format("not sent: {} ({}); webhooks go to public addresses only "
                                "unless imagebuild.conf has [webhook] allow_private = yes",
                                url.host, dropped),
                    0, true};
        }
        step = "connecting";
        stream.expires_after(stepTimeout);
        stream.connect(endpoints);
        http::request<http::string_body> req{http::verb::post, url.target, 11};
        req.set(http::field::host, url.hostHeader());
        req.set(http::field::user_agent, std::string("imagebuild-webhook/") + IMAGEBUILD_VERSION);
        req.set(http::field::content_type, "application/json");
        req.set("X-Imagebuild-Event", event);
        req.body() = body;
        req.prepare_payload();
        step = "sending the request";
        stream.expires_after(stepTimeout);
        http::write(stream, req);
        step = "reading the answer";
        stream.expires_after(stepTimeout);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxAnswerBytes);
        http::read(stream, buffer, parser);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        auto status = parser.get().result_int();
        if (status < 200 || status >= 300) {
            return {fmt::format("the server answered {} {}", status,
                                std::string(parser.get().reason())),
                    status};
        }
        return {"", status};
    } catch (const boost::system::system_error& e) {
        auto what = e.code() == beast::error::timeout
                        ? fmt::format("no progress in {} ms", stepTimeout.count())
                        : e.code().message();
        return {fmt::format("{}: {}", step, what), 0};
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
