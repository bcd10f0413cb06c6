// The static fleet from [forwarder] peers=: one HttpClient per peer (a pool of
// up to 64 idle keep-alive connections, the fleet token on every request), and one
// prober thread that asks every peer GET /v1/health each interval (all at
// once, asynchronously: see peer_prober.hpp). A peer is `unknown` until its
// first probe ends, then `up` or `down` (with the error); one failed check
// makes it down at once (so within interval + timeout), the next answer
// brings it back. The hostname a peer reports is how build ids ("<host>-<n>")
// find their owner, so the fleet's answers (snapshot, byHostname) wait for
// the first round of probes, at most firstProbeWait.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_client.hpp"
#include "forwarder/host_info.hpp"
#include "forwarder/peer_prober.hpp"

namespace imagebuild::forwarder {

// Connections of a thread's requests to one peer open at once, at most
// (peers.cpp: the gate's loops have their own).
inline constexpr std::size_t kPeerConnections = 32;

class Metrics;

struct PeerOptions {
    std::string fleetToken;
    std::chrono::milliseconds healthInterval{2000};
    std::chrono::milliseconds healthTimeout{2000};
    std::chrono::milliseconds requestTimeout{15000};
    // How long an answer about the fleet waits for the first round of probes.
    std::chrono::milliseconds firstProbeWait{3000};
};

enum class PeerStatus { Unknown, Up, Down };
// "unknown", "up", "down": the `status` of GET /v1/hosts.
std::string_view statusName(PeerStatus status);

struct PeerState {
    std::string url;
    std::string hostname;  // empty until the peer first answered
    PeerStatus status = PeerStatus::Unknown;
    bool healthy = false;        // status == Up
    bool busy = false;           // up, but its last health answer was 429
    std::string error;           // why it is down, or why busy
    std::uint64_t lastSeen = 0;  // usec since the epoch
    // Where it answered its last probe (port 0: never).
    boost::asio::ip::address address;
    unsigned short port = 0;
};

class Peers {
public:
    Peers(std::vector<std::string> urls, PeerOptions options, Metrics* metrics);
    ~Peers();
    Peers(const Peers&) = delete;
    Peers& operator=(const Peers&) = delete;

    // Starts the prober; until then (and without peers) nothing waits.
    void startHealthChecks();

    // Both wait for the first round of probes (at most firstProbeWait).
    std::vector<PeerState> snapshot() const;
    std::optional<PeerState> byHostname(const std::string& hostname) const;
    // The first round of probes has ended (or there is none): nothing waits.
    bool settled() const;
    HttpClient& client(const std::string& url);
    const PeerOptions& options() const { return options_; }
    // Records the outcome of a forwarded request; a network failure marks the
    // peer down without waiting for the next health check.
    void recordForward(const std::string& url, bool reachable);
    // The last host record a peer sent, so that a down host still shows what it builds.
    void remember(const std::string& url, const HostInfo& info);
    std::optional<HostInfo> lastKnown(const std::string& url) const;

private:
    void waitForFirstProbe() const;
    void setHealth(const std::string& url, const ProbeResult& result);
    void firstRoundEnded();

    PeerOptions options_;
    Metrics* metrics_;
    std::vector<std::string> urls_;
    std::map<std::string, std::unique_ptr<HttpClient>> clients_;
    mutable std::mutex mutex_;
    mutable std::condition_variable probed_;
    bool probing_ = false;     // the prober has started
    bool firstRound_ = false;  // and its first round has ended
    std::map<std::string, PeerState> states_;
    std::map<std::string, HostInfo> known_;
    // Last: stopped (its thread joined) before anything it calls back is destroyed.
    std::unique_ptr<PeerProber> prober_;
};

}  // namespace imagebuild::forwarder
