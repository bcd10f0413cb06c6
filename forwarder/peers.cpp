#include "forwarder/peers.hpp"
#include "common/clock.hpp"

#include <nlohmann/json.hpp>

#include "forwarder/host_info.hpp"
#include "forwarder/log.hpp"
#include "forwarder/metrics.hpp"

namespace imagebuild::forwarder {

Peers::Peers(std::vector<std::string> urls, PeerOptions options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
    for (const auto& url : urls) {
        clients_.emplace(url, std::make_unique<PeerClient>(url, options_.fleetToken));
        states_[url] = PeerState{url, "", false, 0};
        if (metrics_) {
            metrics_->setPeerHealth(url, false);
        }
    }
}

Peers::~Peers() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    for (auto& thread : threads_) {
        thread.join();
    }
}

void Peers::startHealthChecks() {
    for (const auto& [url, client] : clients_) {
        threads_.emplace_back(&Peers::healthLoop, this, url);
    }
}

void Peers::healthLoop(std::string url) {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        check(url);
        lock.lock();
        stop_.wait_for(lock, options_.healthInterval, [this] { return stopping_; });
    }
}

void Peers::check(const std::string& url) {
    std::string hostname;
    bool healthy = false;
    try {
        auto response =
            client(url).request({"GET", "/v1/health", "", "", {}}, options_.healthTimeout);
        auto body = nlohmann::json::parse(response.body, nullptr, false);
        healthy = response.status == 200 && body.is_object();
        if (healthy) {
            hostname = body.value("hostname", "");
        }
    } catch (const PeerError& e) {
        std::lock_guard lock(mutex_);
        if (states_[url].healthy) {
            log::warning("peer {} is down: {}", url, e.what());
        }
    }
    setHealth(url, healthy, hostname);
}

void Peers::setHealth(const std::string& url, bool healthy, const std::string& hostname) {
    std::lock_guard lock(mutex_);
    auto& state = states_[url];
    if (healthy && !state.healthy) {
        log::info("peer {} ({}) is up", url, hostname);
    }
    state.healthy = healthy;
    if (healthy) {
        state.lastSeen = realtimeUsec();
        if (!hostname.empty()) {
            state.hostname = hostname;
        }
    }
    if (metrics_) {
        metrics_->setPeerHealth(url, healthy);
    }
}

void Peers::recordForward(const std::string& url, bool reachable) {
    if (metrics_) {
        metrics_->countForwarded(url, reachable ? "answered" : "unreachable");
    }
    if (!reachable) {
        setHealth(url, false, "");
    }
}

std::vector<PeerState> Peers::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<PeerState> out;
    for (const auto& [url, state] : states_) {
        out.push_back(state);
    }
    return out;
}

std::optional<PeerState> Peers::byHostname(const std::string& hostname) const {
    std::lock_guard lock(mutex_);
    for (const auto& [url, state] : states_) {
        if (state.hostname == hostname) {
            return state;
        }
    }
    return std::nullopt;
}

void Peers::remember(const std::string& url, const HostInfo& info) {
    std::lock_guard lock(mutex_);
    known_[url] = info;
}

std::optional<HostInfo> Peers::lastKnown(const std::string& url) const {
    std::lock_guard lock(mutex_);
    auto it = known_.find(url);
    return it == known_.end() ? std::nullopt : std::optional<HostInfo>(it->second);
}

PeerClient& Peers::client(const std::string& url) {
    return *clients_.at(url);
}

}  // namespace imagebuild::forwarder
