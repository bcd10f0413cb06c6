// HTTP client to one peer forwarder (Boost.Beast): keep-alive connections
// reused from a small pool, a deadline on every operation, the fleet token on
// every request. Blocking; called from connection threads (health checks
// have their own asynchronous client: peer_prober.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace imagebuild::forwarder {

struct PeerRequest {
    std::string method = "GET";
    std::string target;  // path and query
    std::string body;
    std::string contentType;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct PeerResponse {
    unsigned status = 0;
    std::string contentType;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // those worth passing on
    std::uint64_t contentLength = UINT64_MAX;                  // UINT64_MAX: not given
};

// The peer could not be reached or did not answer in time.
class PeerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A response whose body is read as it arrives (monitor follow, artifacts).
class PeerStream {
public:
    virtual ~PeerStream() = default;
    virtual const PeerResponse& head() const = 0;  // body empty
    // Up to `max` bytes, 0 at the end; throws PeerError.
    virtual std::size_t read(char* buffer, std::size_t max) = 0;
};

class PeerClient {
public:
    // `baseUrl` is http://HOST[:PORT]; `fleetToken` may be empty.
    PeerClient(std::string baseUrl, std::string fleetToken);
    ~PeerClient();
    PeerClient(const PeerClient&) = delete;
    PeerClient& operator=(const PeerClient&) = delete;

    const std::string& baseUrl() const { return baseUrl_; }

    PeerResponse request(const PeerRequest& request, std::chrono::milliseconds timeout);
    // `timeout` bounds connecting, sending and the response head;
    // `idleTimeout` each later read, not the whole stream.
    std::unique_ptr<PeerStream> stream(const PeerRequest& request,
                                       std::chrono::milliseconds timeout,
                                       std::chrono::milliseconds idleTimeout);

    struct Connection;

private:
    std::unique_ptr<Connection> take(std::chrono::milliseconds timeout, bool& reused, bool fresh);
    void giveBack(std::unique_ptr<Connection> connection);

    std::string baseUrl_;
    std::string host_;
    std::string port_;
    std::string fleetToken_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace imagebuild::forwarder
