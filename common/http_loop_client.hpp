// HTTP requests made on a caller's epoll loop, without a thread of their own:
// the forwarder's gate passes a request on to a peer and answers its client
// when the peer has answered, serving its other connections meanwhile (the
// bmcweb model). The bytes sent are HttpClient's (http_message.hpp); the
// answer is parsed by Boost.Beast's parser, fed from non-blocking reads.
//
// - Keep-alive connections are pooled per address, at most maxIdlePerAddress;
//   an idle one the server closes (or writes to) is closed at once.
// - At most maxOpenPerAddress connections to one address are open at once
//   (in use and idle); a request past that waits, in order, for one to come
//   free (its deadline runs meanwhile).
// - A pooled connection found closed when the request goes out, or closed
//   before any byte of the answer came, is retried once on a fresh one, as
//   HttpClient does; never after a timeout or once an answer began.
// - One deadline bounds the whole exchange, from connecting to the last byte.
//
// Not thread-safe: every call comes from the loop's thread. `done` is never
// called from inside start() or handle(): deliver() calls it, so that a
// caller's state is never changed under its feet.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http_client.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild {

struct HttpLoopRequest {
    sockaddr_storage address{};
    socklen_t length = 0;
    std::string bytes;      // the whole request (httpRequestBytes)
    bool headOnly = false;  // a HEAD: the answer has no body, whatever its length says
    std::chrono::milliseconds timeout{15000};
};

// A non-blocking TCP socket (TCP_NODELAY) connecting to request.address:
// connected at once, or `inProgress` (its connect ends with POLLOUT).
// Throws HttpError (HttpStep::Connect) if it cannot even start.
UniqueFd startConnecting(const HttpLoopRequest& request, bool& inProgress);

// `response` (null on an error) is the callee's to take from.
using HttpLoopDone = std::function<void(HttpResponse* response, const HttpError* error)>;

class HttpLoopClient {
public:
    struct Options {
        std::size_t maxIdlePerAddress = 32;
        std::uint64_t bodyLimit = 64ull * 1024 * 1024;
        std::size_t maxOpenPerAddress = 0;  // 0: no cap
    };
    using Clock = std::chrono::steady_clock;

    // Adds its sockets to `epollFd` (edge-triggered; data.fd is the socket).
    HttpLoopClient(int epollFd, Options options);
    // Closes every connection; no `done` is called any more.
    ~HttpLoopClient();
    HttpLoopClient(const HttpLoopClient&) = delete;
    HttpLoopClient& operator=(const HttpLoopClient&) = delete;

    void start(HttpLoopRequest request, HttpLoopDone done);
    // An event of the loop's epoll on `fd`; false: not one of ours.
    bool handle(int fd, std::uint32_t events);
    // Ends the exchanges past their deadline (timedOut()).
    void expire(Clock::time_point now);
    // Calls `done` of every exchange that ended, in the order they ended.
    void deliver();
    bool hasEnded() const { return !ended_.empty(); }

    std::size_t inFlight() const { return calls_.size(); }
    std::size_t waiting() const;
    std::size_t idle() const { return idleKeys_.size(); }

private:
    struct Call;
    struct Ended {
        HttpLoopDone done;
        std::optional<HttpResponse> response;
        std::unique_ptr<HttpError> error;
    };
    void open(std::unique_ptr<Call> call);
    void progress(Call& call, std::uint32_t events);
    bool sendRest(Call& call);
    bool receive(Call& call);
    bool feed(Call& call, const char* data, std::size_t size);
    void complete(Call& call, bool reusable);
    void fail(Call& call, HttpStep step, const char* words, std::string detail,
              bool closedUnderUs = false, bool timedOut = false);
    void park(int fd, const std::string& key);
    void closeIdle(int fd);
    void closed(const std::string& key);  // a connection to key was closed
    void forget(const std::string& key);  // the same, without starting a waiting call
    bool hasRoom(const std::string& key) const;
    void startWaiting(const std::string& key);

    int epoll_;
    Options options_;
    std::map<int, std::unique_ptr<Call>> calls_;
    std::map<std::string, std::vector<int>> idle_;  // address bytes -> idle sockets
    std::map<int, std::string> idleKeys_;           // idle socket -> its address
    std::map<std::string, std::size_t> open_;       // address -> connections, in use and idle
    std::map<std::string, std::deque<std::unique_ptr<Call>>> waiting_;  // for a connection
    std::vector<Ended> ended_;
};

}  // namespace imagebuild
