// The one HTTP client (Boost.Beast) of imagebuild: imagebuildctl -H talks to
// a forwarder with it, a forwarder to its peers (requests, relayed streams,
// health probes), the agent's webhook sender to a build's webhook.
//
// - A whole answer in memory: HttpClient::request. Every step (connect, send,
//   read the answer) has the same timeout of its own. With maxIdle > 0 the
//   connection is kept alive and reused from a small pool; a pooled
//   connection the server closed meanwhile is retried once on a fresh one.
// - A long or endless body read as it arrives (a followed log, an artifact):
//   HttpClient::stream, on a connection of its own, never reused.
// - Many requests at once from one thread (the forwarder's health probes):
//   asyncHttpRequest on the caller's io_context.
// Plain http only (common/http_url.hpp): no caller uses TLS.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/capped_pool.hpp"
#include "common/http_url.hpp"

namespace imagebuild {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method = "GET";
    std::string target;  // path and query, sent as it is (no prefix added)
    std::string body;
    std::string contentType;
    HttpHeaders headers;  // set after the client's own (Host, User-Agent, ...)
};

struct HttpResponse {
    unsigned status = 0;
    std::string reason;
    std::string contentType;
    std::string body;                          // empty for a stream's head
    HttpHeaders headers;                       // every field but Content-Type
    std::uint64_t contentLength = UINT64_MAX;  // UINT64_MAX: not given
    // Who answered (asyncHttpRequest only): the forwarder's loop connects
    // there itself, without a name lookup of its own.
    boost::asio::ip::address peerAddress;
    unsigned short peerPort = 0;
};

// Where an exchange failed. Callers word their messages from it.
enum class HttpStep { Resolve, Connect, Send, Receive };

// The server could not be reached or did not answer in time. what() is
// "<step>: <detail>" ("connecting: Connection refused"); refused: no address
// the host resolved to was allowed (HttpClientOptions::refuseAddress).
class HttpError : public std::runtime_error {
public:
    HttpError(HttpStep step, std::string stepWords, std::string detail, bool timedOut,
              bool refused = false, bool busy = false);
    HttpStep step() const { return step_; }
    const std::string& detail() const { return detail_; }
    bool timedOut() const { return timedOut_; }
    bool refused() const { return refused_; }
    // Nothing was sent: every connection this side may open to the server
    // (maxOpen) stayed in use until the timeout. Says nothing of the server.
    bool busy() const { return busy_; }

private:
    HttpStep step_;
    std::string detail_;
    bool timedOut_;
    bool refused_;
    bool busy_;
};

// No deadline (a followed log waits as long as the build is silent).
inline constexpr std::chrono::milliseconds kNoTimeout{0};

struct HttpClientOptions {
    std::string userAgent;    // "imagebuildctl/1.2"
    std::string bearerToken;  // sent as Authorization: Bearer when not empty
    // Idle keep-alive connections kept for reuse; 0: a connection per request
    // (sent with Connection: close).
    std::size_t maxIdle = 0;
    std::uint64_t bodyLimit = 64ull * 1024 * 1024;  // of a whole answer
    // Empty: the address may be connected to; else why not ("... is a
    // loopback address"). Checked on every address the host resolves to.
    std::function<std::string(const boost::asio::ip::address&)> refuseAddress;
    // Connections request() holds open to the server at once, in use and
    // idle; 0: no cap. Past it a request waits for one to come free, up to
    // its timeout (then HttpStep::Connect, timedOut). A server that caps
    // the connections of one address (a forwarder: 128) is kept under it.
    // A stream's connection is its own, not counted.
    std::size_t maxOpen = 0;
};

// A response whose body is read as it arrives.
class HttpStream {
public:
    virtual ~HttpStream() = default;
    virtual const HttpResponse& head() const = 0;  // body empty
    // Up to `max` bytes, 0 at the end; throws HttpError.
    virtual std::size_t read(char* buffer, std::size_t max) = 0;
};

class HttpClient {
public:
    HttpClient(HttpUrl url, HttpClientOptions options);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    const HttpUrl& url() const { return url_; }
    const HttpClientOptions& options() const { return options_; }

    // `timeout` bounds each of connecting, sending and reading the answer.
    HttpResponse request(const HttpRequest& request, std::chrono::milliseconds timeout);
    // `timeout` bounds connecting, sending and the response head;
    // `idleTimeout` each later read (kNoTimeout: none), not the whole stream.
    std::unique_ptr<HttpStream> stream(const HttpRequest& request,
                                       std::chrono::milliseconds timeout,
                                       std::chrono::milliseconds idleTimeout);

    struct Connection;

private:
    std::unique_ptr<Connection> take(std::chrono::milliseconds timeout, bool& reused, bool fresh);
    std::unique_ptr<Connection> connect(std::chrono::milliseconds timeout);

    HttpUrl url_;
    HttpClientOptions options_;
    CappedPool<Connection> pool_;  // request()'s connections, in use and idle
};

// One request on a fresh connection, driven by `io` (which the caller runs):
// resolve, connect, send, read, one deadline over the whole. `done` is
// called once, on io's thread, with the answer or the error (a timeout:
// timedOut(), at whichever step it struck). bodyLimit and the token come
// from options; maxIdle and refuseAddress are not used.
using HttpDone = std::function<void(const HttpResponse* response, const HttpError* error)>;
void asyncHttpRequest(boost::asio::io_context& io, const HttpUrl& url, const HttpRequest& request,
                      const HttpClientOptions& options, std::chrono::milliseconds timeout,
                      HttpDone done);

}  // namespace imagebuild
