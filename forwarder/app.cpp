#include "forwarder/app.hpp"

#include <chrono>
#include <exception>

#include "common/build_id.hpp"
#include "forwarder/agent_bus.hpp"
#include "forwarder/fan_out.hpp"
#include "forwarder/follow_hub.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/http_cache.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/log.hpp"
#include "forwarder/peers.hpp"
#include "forwarder/upload_form.hpp"

namespace imagebuild::forwarder {

App::App(ForwarderConfig config, TokenStore tokens, std::string hostname)
    : config_(std::move(config)),
      tokens_(std::move(tokens)),
      authPolicy_{config_.readOpen, config_.fleetTokenName},
      hostname_(std::move(hostname)),
      agent_(makeDbusLocalAgent()),
      peers_(std::make_unique<Peers>(std::vector<std::string>{}, PeerOptions{}, nullptr)),
      exchanges_(std::make_unique<ExchangePool>()),
      followHub_(std::make_unique<FollowHub>(
          connectForAgentCalls, FollowLimits{config_.followRingLines, FollowLimits{}.ringBytes})) {}

App::~App() = default;

void App::setAgent(std::unique_ptr<LocalAgent> agent) {
    agent_ = std::move(agent);
}
void App::setPeers(std::unique_ptr<Peers> peers) {
    peers_ = std::move(peers);
}

std::string App::publicUrl() const {
    return config_.publicUrl.empty() ? "http://" + hostname_ + ":8470" : config_.publicUrl;
}

namespace {

Response noRoute(const RouteMatch& match, const Request& request) {
    return match.pathKnown ? jsonError(405, "MethodNotAllowed",
                                       request.method + " is not allowed on " + request.path)
                           : jsonError(404, "NotFound", "no such resource: " + request.path);
}

}  // namespace

Admission App::admit(Request& request) {
    Admission admission;
    auto match = router_.match(request.method, request.path);
    std::optional<Response> refusal;
    if (!match.route) {
        refusal = noRoute(match, request);
    } else {
        refusal = authorize(request, match.route->access, tokens_, authPolicy_);
    }
    if (refusal) {
        metrics_.observeRequest(match.route ? match.route->pattern : "unmatched", request.method,
                                refusal->status, 0);
        if (auto more = refusal->status != 404 ? refusalLog_.take() : std::nullopt) {
            log::warning("{} {} -> {} (at the head){}", request.method, request.path,
                         refusal->status, *more);
        }
        admission.refusal = std::move(refusal);
        return admission;
    }
    switch (match.route->body) {
        case BodyKind::None:
            break;
        case BodyKind::Json:
            admission.maxBodyBytes = config_.maxBodyBytes;
            break;
        case BodyKind::JsonOrForm:
            admission.form = isMultipartForm(request);
            admission.maxBodyBytes = admission.form ? config_.maxUploadBytes : config_.maxBodyBytes;
            break;
    }
    admission.waitsOn = waitGroupOf(request, match);
    return admission;
}

// What the route's handler waits on, as far as the head tells: a build's
// owner (this host's agent, or a peer) for the API's routes of one build,
// the peers for a fleet-wide answer and the agent for its local part; else
// nothing shared (a submission, placed on whichever host; /metrics; the web
// UI, whose pages ask nobody but through the API).
WaitGroup App::waitGroupOf(const Request& request, const RouteMatch& match) const {
    const auto& pattern = match.route->pattern;
    bool local = wasForwarded(request) || request.queryValue("scope") == "local";
    if (pattern == "/v1/builds" || pattern == "/v1/hosts" || pattern == "/v1/stats") {
        if (request.method != "GET") {
            return {};
        }
        return local ? WaitGroup{"agent", kAgentConnections}
                     : WaitGroup{"fleet", ExchangePool::kMaxEngines};
    }
    bool ofOneBuild = pattern.starts_with("/v1/builds/") || pattern.starts_with("/monitor/") ||
                      pattern.starts_with("/artifacts/");
    auto id = match.params.find("id");
    if (!ofOneBuild || id == match.params.end()) {
        return {};
    }
    auto parsed = BuildId::parse(id->second);
    if (!parsed) {
        return {};  // answered 404 at once
    }
    if (parsed->host == hostname_ || wasForwarded(request)) {
        return {"agent", kAgentConnections};
    }
    return {"peer " + parsed->host, kPeerConnections};
}

OnLoop App::answerOnLoop(Request& request) {
    auto match = router_.match(request.method, request.path);
    if (!match.route) {
        return {};
    }
    if (match.route->answersOnLoop) {
        return {dispatchMatched(request, std::move(match)), {}};
    }
    if (!match.route->relaysOnLoop) {
        return {};
    }
    auto start = std::chrono::steady_clock::now();
    const auto& label = match.route->pattern;
    auto shared = std::make_shared<Request>(std::move(request));
    auto onLoop = relayOnLoop(*this, shared, match.params.at("id"), match.route->askAgentOnLoop);
    // Whose request it is decides first: one a thread serves (a build of
    // this host, as every request a peer passes on) has its token checked
    // there, once.
    if (!onLoop.response && !onLoop.relay) {
        request = std::move(*shared);
        return {};
    }
    if (authorize(*shared, match.route->access, tokens_, authPolicy_)) {
        request = std::move(*shared);
        return {dispatchMatched(request, std::move(match)), {}};  // the refusal, as any
    }
    if (onLoop.response) {  // the owner's error: down, unknown, no build id
        observe(*shared, label, *onLoop.response, start);
        return onLoop;
    }
    // What every answer made on the loop gets, as dispatchMatched's.
    auto settle = [this, shared, &label, start](Response& response) {
        applyConditionalGet(*shared, response);
        observe(*shared, label, response, start);
    };
    auto& relay = onLoop.relay;
    if (relay->ask) {
        relay->ask = [ask = std::move(relay->ask), settle](AgentOnLoop& agent,
                                                           std::function<void(Response &&)> done) {
            ask(agent, [settle, done = std::move(done)](Response&& response) {
                settle(response);
                done(std::move(response));
            });
        };
        return onLoop;
    }
    relay->finish = [finish = std::move(relay->finish), settle](HttpResponse* answer,
                                                                const HttpError* error) {
        auto response = finish(answer, error);
        settle(response);
        return response;
    };
    return onLoop;
}

Response App::dispatch(Request& request) {
    return dispatchMatched(request, router_.match(request.method, request.path));
}

Response App::dispatchMatched(Request& request, RouteMatch match) {
    auto start = std::chrono::steady_clock::now();
    static const std::string unmatched = "unmatched";
    const std::string& label = match.route ? match.route->pattern : unmatched;
    Response response;
    if (!match.route) {
        response = noRoute(match, request);
    } else if (auto denied = authorize(request, match.route->access, tokens_, authPolicy_)) {
        response = std::move(*denied);
    } else {
        request.params = std::move(match.params);
        if (request.answerLater) {
            request.answerLater = observedWhenGiven(request, label, start);
        }
        try {
            response = match.route->handler(request);
        } catch (const std::exception& e) {
            log::error("{} {}: {}", request.method, request.path, e.what());
            response = jsonError(500, "Internal", e.what());
        }
        applyConditionalGet(request, response);
    }
    if (!response.later) {
        observe(request, label, response, start);
    }
    return response;
}

namespace {

class LaterAnswerThen : public LaterAnswer {
public:
    explicit LaterAnswerThen(std::function<void(Response)> give) : give_(std::move(give)) {}
    void give(Response response) override { give_(std::move(response)); }

private:
    std::function<void(Response)> give_;
};

}  // namespace

// An answer given later is counted and logged when it is given, with the
// time it took.
std::shared_ptr<LaterAnswer> App::observedWhenGiven(const Request& request,
                                                    const std::string& label,
                                                    std::chrono::steady_clock::time_point start) {
    Request asked;  // what observe() looks at
    asked.method = request.method;
    asked.path = request.path;
    return std::make_shared<LaterAnswerThen>([this, inner = request.answerLater,
                                              asked = std::move(asked), label,
                                              start](Response response) {
        observe(asked, label, response, start);
        inner->give(std::move(response));
    });
}

void App::observe(const Request& request, const std::string& label, const Response& response,
                  std::chrono::steady_clock::time_point start) {
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    metrics_.observeRequest(label, request.method, response.status, elapsed.count());
    bool failed = response.status >= 500;
    bool refused = response.status >= 400 && response.status != 404;
    if (response.fromPeer || !(failed || refused)) {
        return;  // the peer that made it logged it; or not worth a line
    }
    auto more = (failed ? failureLog_ : refusalLog_).take();
    if (!more) {
        return;  // too many now: said with the next that goes
    }
    if (failed) {
        // What failed, as the client was told: a 504 alone says nothing of
        // which call timed out.
        auto summary = errorSummary(response);
        log::error("{} {} -> {}{}{}", request.method, request.path, response.status,
                   summary.empty() ? "" : " (" + summary + ")", *more);
    } else {
        log::warning("{} {} -> {}{}", request.method, request.path, response.status, *more);
    }
}

}  // namespace imagebuild::forwarder
