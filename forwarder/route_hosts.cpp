// GET /v1/hosts: {"hosts": [host...]} for the whole fleet, or this host only
// with ?scope=local (what peers ask each other).
#include <sdbus-c++/Error.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "forwarder/app.hpp"
#include "forwarder/fleet.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/log.hpp"
#include "forwarder/log_budget.hpp"
#include "forwarder/peers.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

// The peer's own host record from its answer, or why there is none.
std::optional<HostInfo> hostOf(App& app, const PeerState& peer, HttpResponse* answer,
                               const HttpError* failure, std::string& error) {
    if (!answer) {
        if (auto more = app.failureLog().take()) {
            log::warning("host record of {}: {}{}", peer.url, failure->what(), *more);
        }
        error = failure->what();
        return std::nullopt;
    }
    auto body = nlohmann::json::parse(answer->body, nullptr, false);
    if (answer->status != 200 || !body.is_object() || !body.contains("hosts") ||
        !body["hosts"].is_array() || body["hosts"].empty()) {
        error = fmt::format("GET /v1/hosts?scope=local answered {}", answer->status);
        return std::nullopt;
    }
    try {
        auto info = body["hosts"][0].get<HostInfo>();
        info.url = peer.url;
        info.healthy = true;
        info.status = statusName(PeerStatus::Up);
        info.error.clear();
        info.lastSeen = realtimeUsec();
        app.peers().remember(peer.url, info);
        return info;
    } catch (const std::exception& e) {
        log::warning("host record of {}: {}", peer.url, e.what());
        error = e.what();
        return std::nullopt;
    }
}

// GET /v1/hosts?scope=local of each peer that is up, all at once on this
// thread (fan_out.hpp), each within the health checks' timeout.
std::vector<std::optional<HostInfo>> askPeers(App& app, const std::vector<PeerState>& peers,
                                              std::vector<std::string>& errors) {
    std::vector<std::optional<HostInfo>> answers(peers.size());
    HttpRequest ask{"GET", "/v1/hosts?scope=local", "", "", {{kForwardedHeader, "1"}}};
    auto asked =
        exchangeWithPeers(app, peers, ask, app.peers().options().healthTimeout,
                          [&](std::size_t i, HttpResponse* answer, const HttpError* error) {
                              answers[i] = hostOf(app, peers[i], answer, error, errors[i]);
                          });
    for (std::size_t i = 0; i < peers.size(); ++i) {
        if (peers[i].healthy && !asked[i]) {
            errors[i] = "its address is not known yet";
        }
    }
    return answers;
}

// A peer not asked (down or not yet probed) or that did not answer: its last
// known capabilities, and why it is not up.
HostInfo downHost(App& app, const PeerState& peer, const std::string& error) {
    HostInfo info = app.peers().lastKnown(peer.url).value_or(HostInfo{});
    info.hostname = peer.hostname.empty() ? info.hostname : peer.hostname;
    info.url = peer.url;
    info.healthy = false;
    info.status =
        statusName(peer.status == PeerStatus::Unknown ? PeerStatus::Unknown : PeerStatus::Down);
    info.error = error.empty() ? peer.error : error;
    info.lastSeen = peer.lastSeen;
    return info;
}

Response handleHostsGet(App& app, Request& request) {
    bool localOnly = request.queryValue("scope") == "local" || wasForwarded(request);
    std::vector<HostInfo> hosts;
    if (localOnly) {
        if (auto local = localHost(app)) {
            hosts.push_back(*local);
        }
    } else {
        hosts = fleetHosts(app);
    }
    return jsonResponse(200, nlohmann::json{{"hosts", hosts}}.dump());
}

}  // namespace

std::optional<HostInfo> localHost(App& app) {
    try {
        auto info = app.agent().host();
        if (info.hostname.empty()) {
            info.hostname = app.hostname();
        }
        info.url = app.publicUrl();
        info.healthy = true;
        info.status = statusName(PeerStatus::Up);
        info.lastSeen = realtimeUsec();
        return info;
    } catch (const sdbus::Error& e) {
        if (auto more = app.failureLog().take()) {
            log::warning("local agent unavailable: {}: {}{}", e.getName(), e.getMessage(), *more);
        }
        return std::nullopt;
    }
}

std::vector<HostInfo> fleetHosts(App& app) {
    std::vector<HostInfo> hosts;
    if (auto local = localHost(app)) {
        hosts.push_back(*local);
    }
    auto peers = app.peers().snapshot();
    std::vector<std::string> errors(peers.size());
    auto answers = askPeers(app, peers, errors);
    for (std::size_t i = 0; i < peers.size(); ++i) {
        hosts.push_back(answers[i] ? *answers[i] : downHost(app, peers[i], errors[i]));
    }
    return hosts;
}

void registerHosts(App& app) {
    app.router().add("GET", "/v1/hosts", Access::Read,
                     std::bind_front(handleHostsGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
