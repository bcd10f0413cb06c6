#include "forwarder/peer_prober.hpp"

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <thread>

#include "common/http_client.hpp"

namespace imagebuild::forwarder {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// A health answer is a small JSON object; anything longer is not one.
constexpr std::uint64_t kBodyLimit = 64 * 1024;

struct Target {
    std::string url;
    HttpUrl parsed;
};

// The step words of a probe's error, as /v1/hosts shows them.
std::string probeError(const HttpError& e) {
    if (e.timedOut()) {
        return e.detail();  // "no answer within N ms"
    }
    switch (e.step()) {
        case HttpStep::Resolve:
            return "resolve: " + e.detail();
        case HttpStep::Connect:
            return "connect: " + e.detail();
        case HttpStep::Send:
            return "send: " + e.detail();
        case HttpStep::Receive:
            break;
    }
    return "receive: " + e.detail();
}

// What a peer's answer to GET /v1/health says about it.
ProbeResult probeResult(const HttpResponse& response) {
    if (response.status == 429) {
        // Too many connections or requests from this host (relayed
        // follows hold one each): the peer is there and answering.
        return {true,
                true,
                "",
                fmt::format("busy: GET /v1/health answered 429 {}", response.reason),
                response.peerAddress,
                response.peerPort};
    }
    auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (response.status != 200 || !body.is_object()) {
        return {
            false, false,
            "",    fmt::format("GET /v1/health answered {} {}", response.status, response.reason),
            {},    0};
    }
    return {true,
            false,
            body.value("hostname", std::string()),
            "",
            response.peerAddress,
            response.peerPort};
}

}  // namespace

// The io_context and its thread, and the round in progress. Everything but
// the constructor and destructor runs on the thread.
struct PeerProber::Loop {
    Loop(std::vector<std::string> urls, Options o, OnResult r, OnRound d)
        : options(std::move(o)), onResult(std::move(r)), onRound(std::move(d)) {
        client.userAgent = "imagebuild-forwarder";
        client.bearerToken = options.fleetToken;
        client.bodyLimit = kBodyLimit;
        health.target = "/v1/health";
        for (const auto& url : urls) {
            std::string why;
            auto parsed = parseHttpUrl(url, &why);
            if (!parsed) {  // the config checked it already
                throw std::invalid_argument(fmt::format("peer {}: {}", url, why));
            }
            targets.push_back({url, *parsed});
        }
    }

    void startRound() {
        pending = targets.size();
        if (pending == 0) {
            return roundEnded();
        }
        for (const auto& target : targets) {
            asyncHttpRequest(io, target.parsed, health, client, options.timeout,
                             std::bind_front(&Loop::probeEnded, this, target.url));
        }
    }

    void probeEnded(const std::string& url, const HttpResponse* response, const HttpError* error) {
        onResult(url, response ? probeResult(*response)
                               : ProbeResult{false, false, "", probeError(*error), {}, 0});
        if (--pending == 0) {
            roundEnded();
        }
    }

    void roundEnded() {
        onRound();
        if (targets.empty()) {
            return;  // nothing to ask again
        }
        next.expires_after(options.interval);
        next.async_wait([this](error_code ec) {
            if (!ec) {
                startRound();
            }
        });
    }

    Options options;
    HttpClientOptions client;
    HttpRequest health;
    OnResult onResult;
    OnRound onRound;
    std::vector<Target> targets;
    std::size_t pending = 0;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    asio::steady_timer next{io};
    std::jthread thread;
};

PeerProber::PeerProber(std::vector<std::string> urls, Options options, OnResult onResult,
                       OnRound onRound)
    : loop_(std::make_unique<Loop>(std::move(urls), std::move(options), std::move(onResult),
                                   std::move(onRound))) {
    asio::post(loop_->io, [loop = loop_.get()] { loop->startRound(); });
    loop_->thread = std::jthread([loop = loop_.get()] { loop->io.run(); });
}

PeerProber::~PeerProber() {
    loop_->io.stop();
    loop_->thread.join();
}

}  // namespace imagebuild::forwarder
