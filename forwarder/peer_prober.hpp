// Health checks of every peer from one thread: an asio io_context on which
// each round asks all peers GET /v1/health at once (common/http_client.hpp's
// asyncHttpRequest, a fresh connection each), then waits the interval and
// starts the next round. A hundred peers are a hundred sockets in flight, not
// a hundred threads; only asio's resolver adds a thread of its own, once.
// (The blocking HttpClient would need a thread per peer in flight: the
// probes share its request building and answer parsing, not its sockets.)
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace imagebuild::forwarder {

struct ProbeResult {
    bool up = false;
    // Up, but it refused the probe as one request too many (429): a peer
    // that answers is not down, however busy.
    bool busy = false;
    std::string hostname;  // what the peer's /v1/health said; empty when down or busy
    std::string error;     // why it is down: "connect: Connection refused", ...; or busy
    // Where it answered: the address a request relayed on the gate's loop
    // connects to (the loop looks no name up).
    boost::asio::ip::address address;
    unsigned short port = 0;
};

class PeerProber {
public:
    struct Options {
        std::string fleetToken;  // sent as a bearer token when not empty
        std::chrono::milliseconds interval{2000};
        std::chrono::milliseconds timeout{2000};  // the whole probe: resolve to answer
    };
    // Called on the prober's thread: once per peer and round, then once when
    // every probe of the round has ended.
    using OnResult = std::function<void(const std::string& url, const ProbeResult& result)>;
    using OnRound = std::function<void()>;

    // Starts the thread and the first round at once.
    PeerProber(std::vector<std::string> urls, Options options, OnResult onResult, OnRound onRound);
    // Stops the thread; callbacks are not called any more once it returns.
    ~PeerProber();
    PeerProber(const PeerProber&) = delete;
    PeerProber& operator=(const PeerProber&) = delete;

    struct Loop;

private:
    std::unique_ptr<Loop> loop_;
};

}  // namespace imagebuild::forwarder
