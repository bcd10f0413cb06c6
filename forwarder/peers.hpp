// The static fleet from [forwarder] peers=: one PeerClient per peer, and a
// health thread per peer that asks GET /v1/health every interval. A peer that
// fails one check is down at once (so within interval + timeout); the next
// answer brings it back. The hostname a peer reports is how build ids
// ("<host>-<n>") find their owner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "forwarder/host_info.hpp"
#include "forwarder/peer_client.hpp"

namespace imagebuild::forwarder {

class Metrics;

struct PeerOptions {
    std::string fleetToken;
    std::chrono::milliseconds healthInterval{2000};
    std::chrono::milliseconds healthTimeout{2000};
    std::chrono::milliseconds requestTimeout{15000};
};

struct PeerState {
    std::string url;
    std::string hostname;  // empty until the peer first answered
    bool healthy = false;
    std::uint64_t lastSeen = 0;  // usec since the epoch
};

class Peers {
public:
    Peers(std::vector<std::string> urls, PeerOptions options, Metrics* metrics);
    ~Peers();
    Peers(const Peers&) = delete;
    Peers& operator=(const Peers&) = delete;

    void startHealthChecks();
    // One check of one peer, now (the health threads call this).
    void check(const std::string& url);

    std::vector<PeerState> snapshot() const;
    std::optional<PeerState> byHostname(const std::string& hostname) const;
    PeerClient& client(const std::string& url);
    const PeerOptions& options() const { return options_; }
    // Records the outcome of a forwarded request; a network failure marks the
    // peer down without waiting for the next health check.
    void recordForward(const std::string& url, bool reachable);
    // The last host record a peer sent, so that a down host still shows what it builds.
    void remember(const std::string& url, const HostInfo& info);
    std::optional<HostInfo> lastKnown(const std::string& url) const;

private:
    void healthLoop(std::string url);
    void setHealth(const std::string& url, bool healthy, const std::string& hostname);

    PeerOptions options_;
    Metrics* metrics_;
    std::map<std::string, std::unique_ptr<PeerClient>> clients_;
    mutable std::mutex mutex_;
    std::condition_variable stop_;
    bool stopping_ = false;
    std::map<std::string, PeerState> states_;
    std::map<std::string, HostInfo> known_;
    std::vector<std::thread> threads_;
};

}  // namespace imagebuild::forwarder
