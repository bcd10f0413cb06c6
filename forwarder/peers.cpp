#include "forwarder/peers.hpp"

#include <fmt/format.h>

#include "common/clock.hpp"

#include "forwarder/log.hpp"
#include "forwarder/metrics.hpp"

namespace imagebuild::forwarder {

namespace {

// Connections to one peer from the threads (requests in flight and idle
// keep-alive ones; streams have their own): with the gate loops' own
// (kLoopConnectionsPerPeer, http_gate.cpp), under the peer's
// max_connections_per_address (128 by default), which a burst of requests
// passed on at once otherwise overran: 172 of 300 answered 429. At most
// kPeerConnections (peers.hpp) are open.
constexpr std::size_t kMaxIdlePerPeer = 16;
// A forwarded answer is held whole (streams are not).
constexpr std::uint64_t kPeerBodyLimit = 64ull * 1024 * 1024;

std::unique_ptr<HttpClient> makePeerClient(const std::string& url, const std::string& token) {
    std::string why;
    auto parsed = parseHttpUrl(url, &why);
    if (!parsed) {  // the config checked it already
        throw std::invalid_argument(fmt::format("peer {}: {}", url, why));
    }
    return std::make_unique<HttpClient>(
        *parsed, HttpClientOptions{"imagebuild-forwarder", token, kMaxIdlePerPeer, kPeerBodyLimit,
                                   nullptr, kPeerConnections});
}

}  // namespace

std::string_view statusName(PeerStatus status) {
    switch (status) {
        case PeerStatus::Up:
            return "up";
        case PeerStatus::Down:
            return "down";
        case PeerStatus::Unknown:
            break;
    }
    return "unknown";
}

Peers::Peers(std::vector<std::string> urls, PeerOptions options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics), urls_(std::move(urls)) {
    for (const auto& url : urls_) {
        clients_.emplace(url, makePeerClient(url, options_.fleetToken));
        states_[url] = PeerState{url, "", PeerStatus::Unknown, false, false, "", 0, {}, 0};
        if (metrics_) {
            metrics_->setPeerHealth(url, false);
        }
    }
}

Peers::~Peers() {
    prober_.reset();  // joins its thread: no callback runs after this
}

void Peers::startHealthChecks() {
    if (prober_ || urls_.empty()) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        probing_ = true;
    }
    prober_ = std::make_unique<PeerProber>(
        urls_,
        PeerProber::Options{options_.fleetToken, options_.healthInterval, options_.healthTimeout},
        std::bind_front(&Peers::setHealth, this), std::bind_front(&Peers::firstRoundEnded, this));
}

void Peers::firstRoundEnded() {
    {
        std::lock_guard lock(mutex_);
        if (firstRound_) {
            return;
        }
        firstRound_ = true;
    }
    probed_.notify_all();
}

void Peers::waitForFirstProbe() const {
    std::unique_lock lock(mutex_);
    if (probing_ && !firstRound_) {
        probed_.wait_for(lock, options_.firstProbeWait, [this] { return firstRound_; });
    }
}

void Peers::setHealth(const std::string& url, const ProbeResult& result) {
    std::lock_guard lock(mutex_);
    auto& state = states_[url];
    if (result.up && state.status != PeerStatus::Up) {
        log::info("peer {} ({}) is up", url, result.hostname);
    } else if (result.busy && !state.busy) {
        log::info("peer {} is up and busy: {}", url, result.error);
    } else if (!result.up && state.status != PeerStatus::Down) {
        log::warning("peer {} is down: {}", url, result.error);
    }
    state.status = result.up ? PeerStatus::Up : PeerStatus::Down;
    state.healthy = result.up;
    state.busy = result.busy;
    state.error = result.error;
    if (result.up) {
        state.lastSeen = realtimeUsec();
        if (!result.hostname.empty()) {
            state.hostname = result.hostname;
        }
        if (result.port != 0) {
            state.address = result.address;
            state.port = result.port;
        }
    }
    if (metrics_) {
        metrics_->setPeerHealth(url, result.up);
    }
}

void Peers::recordForward(const std::string& url, bool reachable) {
    if (metrics_) {
        metrics_->countForwarded(url, reachable ? "answered" : "unreachable");
    }
    if (!reachable) {
        setHealth(url, {false, false, "", "a forwarded request could not reach it", {}, 0});
    }
}

std::vector<PeerState> Peers::snapshot() const {
    waitForFirstProbe();
    std::lock_guard lock(mutex_);
    std::vector<PeerState> out;
    for (const auto& [url, state] : states_) {
        out.push_back(state);
    }
    return out;
}

std::optional<PeerState> Peers::byHostname(const std::string& hostname) const {
    waitForFirstProbe();
    std::lock_guard lock(mutex_);
    for (const auto& [url, state] : states_) {
        if (state.hostname == hostname) {
            return state;
        }
    }
    return std::nullopt;
}

bool Peers::settled() const {
    std::lock_guard lock(mutex_);
    return !probing_ || firstRound_;
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

HttpClient& Peers::client(const std::string& url) {
    return *clients_.at(url);
}

}  // namespace imagebuild::forwarder
