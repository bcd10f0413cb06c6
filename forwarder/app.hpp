// The forwarder: configuration, routes, tokens, metrics, the local agent and
// the peers, and the dispatch every request goes through (route, auth,
// handler, metrics, and no exception ever escaping as anything but JSON).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "forwarder/auth.hpp"
#include "forwarder/config.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/log_budget.hpp"
#include "forwarder/loop_answer.hpp"
#include "forwarder/metrics.hpp"
#include "forwarder/resource_totals.hpp"
#include "forwarder/router.hpp"
#include "forwarder/tokens.hpp"

namespace imagebuild::forwarder {

class ExchangePool;
class FollowHub;
class LocalAgent;
class Peers;

class App {
public:
    App(ForwarderConfig config, TokenStore tokens, std::string hostname);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // At the request's head (method, path, query, headers; no body yet):
    // routed and authenticated, so that a client without a token is refused
    // before it can make us read a body, and the route's body limit known.
    Admission admit(Request& request);
    Response dispatch(Request& request);
    // What the gate's loop does with the request: answers it, if its route
    // answers on the loop (Router::addOnLoop), or relays it to the peer that
    // owns its build (Router::addRelayedOnLoop; the request is moved into
    // the relay); neither: the request goes to a thread.
    OnLoop answerOnLoop(Request& request);

    Router& router() { return router_; }
    Metrics& metrics() { return metrics_; }
    ResourceRecords& resourceRecords() { return resourceRecords_; }
    const ForwarderConfig& config() const { return config_; }
    const TokenStore& tokens() const { return tokens_; }
    const AuthPolicy& authPolicy() const { return authPolicy_; }
    const std::string& hostname() const { return hostname_; }
    // The URL this forwarder is reached at (public_url, else http://<hostname>:8470).
    std::string publicUrl() const;

    // The local agent: D-Bus by default; tests put a fake here.
    LocalAgent& agent() { return *agent_; }
    void setAgent(std::unique_ptr<LocalAgent> agent);
    // The readers of followed builds' logs, one per build (follow_hub.hpp).
    FollowHub& followHub() { return *followHub_; }
    ExchangePool& exchanges() { return *exchanges_; }
    // Lines about single requests go to the log within a budget: failures
    // (5xx answers, failed forwards, an agent or peer that did not answer)
    // within one, refusals (4xx) within another, so that a client sending
    // refused requests cannot crowd the failures out of the journal.
    LogBudget& failureLog() { return failureLog_; }
    Peers& peers() { return *peers_; }
    void setPeers(std::unique_ptr<Peers> peers);

private:
    Response dispatchMatched(Request& request, RouteMatch match);
    WaitGroup waitGroupOf(const Request& request, const RouteMatch& match) const;
    std::shared_ptr<LaterAnswer> observedWhenGiven(const Request& request, const std::string& label,
                                                   std::chrono::steady_clock::time_point start);
    void observe(const Request& request, const std::string& label, const Response& response,
                 std::chrono::steady_clock::time_point start);
    ForwarderConfig config_;
    TokenStore tokens_;
    AuthPolicy authPolicy_;
    std::string hostname_;
    Router router_;
    Metrics metrics_;
    ResourceRecords resourceRecords_;
    std::unique_ptr<LocalAgent> agent_;
    std::unique_ptr<Peers> peers_;
    std::unique_ptr<ExchangePool> exchanges_;  // fleet-wide answers' peer connections
    LogBudget failureLog_{20};                 // lines a second
    LogBudget refusalLog_{20};
    std::unique_ptr<FollowHub> followHub_;  // last: its thread runs until App goes
};

// Every route, registered in one place (routes.cpp).
void registerRoutes(App& app);

}  // namespace imagebuild::forwarder
