// The door in front of libmicrohttpd. A loop per CPU accepts connections and
// holds each, in epoll, until its request head has arrived whole; only then
// is it handed to libmicrohttpd (a thread per request, which gives the
// connection back after its answer: takeBack), unless the gate
// may answer the request itself (a route that never blocks, as
// /v1/health: loop_answer.hpp), relay it to a peer from the loop
// (http_loop_client.hpp) or ask the local agent from the loop, on a bus
// connection of its own (agent_on_loop.hpp); then it keeps the connection for the next
// request, which it treats as a first head. So a slow client
// costs a descriptor, not a thread; a head that does not arrive within
// head_timeout_sec is answered 408; a head libmicrohttpd would refuse with
// its own HTML answer is refused here in our JSON (request_head.hpp); an
// address with max_connections_per_address open is answered 429; and at
// max_connections nothing more is accepted: new clients wait in the
// listen backlog until a connection ends.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/http_loop_client.hpp"
#include "common/unique_fd.hpp"
#include "forwarder/agent_on_loop.hpp"
#include "forwarder/connection_bridge.hpp"
#include "forwarder/request_head.hpp"

namespace imagebuild::forwarder {

struct GateLimits {
    unsigned maxConnections = 4096;
    unsigned maxPerAddress = 128;
    unsigned headTimeoutSec = 10;
    // A connection the gate answered itself waits this long for its next
    // request, then is closed without an answer (as libmicrohttpd does).
    unsigned keepAliveTimeoutSec = 60;
    // Event loops (threads) accepting and answering: one per CPU, as nginx's
    // workers, so that requests answered here use every core.
    unsigned loops = 1;
    HeadLimits head;
};

class HttpGate {
public:
    // Hands a connection whose head passed on (`head`: its bytes, still
    // queued in the socket; `consumed`: the bytes its earlier requests took,
    // if it was taken back, else 0); returns false if it could not be taken
    // (the socket is then closed by the callee, and released here).
    using HandOff = std::function<bool(int fd, const sockaddr* address, socklen_t length,
                                       std::string_view head, std::uint64_t consumed)>;
    // A connection was refused: status and JSON error name (for /metrics).
    using OnRefusal = std::function<void(unsigned status, const std::string& error)>;
    // The whole answer to a complete head, if the gate may send it itself
    // and keep the connection for its next request (loop_answer.hpp);
    // nullopt: hand the connection off. An answer that is a peer's first
    // (a request about a build of another host) carries the request to
    // make: the loop sends it (http_loop_client.hpp), serves its other
    // connections meanwhile, and sends what `answer` makes of the peer's.
    struct Relay;
    struct Answer {
        std::string bytes;
        bool close = false;  // the connection ends after it
        std::shared_ptr<Relay> relay;
    };
    // Or, for a build of this host, `ask`: the loop's connection to the
    // agent is handed to it (agent_on_loop.hpp), and it calls `reply`
    // with the answer.
    struct Relay {
        HttpLoopRequest request;
        std::function<Answer(HttpResponse* response, const HttpError* error)> answer;
        std::function<void(AgentOnLoop& agent, std::function<void(Answer&&)> reply)> ask;
    };
    using AnswerHere = std::function<std::optional<Answer>(std::string_view head)>;

    HttpGate(UniqueFd listenFd, GateLimits limits, HandOff handOff, OnRefusal onRefusal = {},
             AnswerHere answerHere = {});
    ~HttpGate();
    HttpGate(const HttpGate&) = delete;
    HttpGate& operator=(const HttpGate&) = delete;

    // A handed-off connection to `address` ended (any thread, also after stop()).
    void release(const std::string& address);
    // A handed-off connection libmicrohttpd answered and let go of, its next
    // request not yet read from `fd` (any thread): a loop holds it as it
    // holds a connection it answered itself, idle until its next head comes,
    // which it then treats as a first one. So a kept-alive connection holds
    // no thread between its requests. Counted as a connection of `address`
    // (the one libmicrohttpd held is released when it closes its side).
    // `consumed`: the bytes its requests took so far (handed off with it).
    void takeBack(UniqueFd fd, const std::string& address, std::uint64_t consumed);
    // Stops accepting and handing off; the pending connections are closed.
    void stop();

    // "127.0.0.1" / "::1": the key of the per-address count.
    static std::string addressKey(const sockaddr* address);

private:
    struct Pending;
    // One event loop: its own epoll set, its connections, its thread. Every
    // loop accepts from the one listening socket.
    struct Loop {
        HttpGate* gate = nullptr;
        UniqueFd epoll;
        UniqueFd wake;  // eventfd: a connection ended, or stop
        std::map<int, Pending> pending;
        bool accepting = false;
        std::string buffer;  // the bytes peeked or read
        // Connections with requests left when their turn ended (readable()).
        std::vector<int> nextTurn;
        std::chrono::steady_clock::time_point nextExpiryLook;
        std::unique_ptr<HttpLoopClient> peers;  // requests relayed to peers
        std::unique_ptr<AgentOnLoop> agent;     // requests asked of the local agent
        // Connections taken back (takeBack), waiting for this loop's next turn.
        std::mutex takenBackMutex;
        struct TakenBack {
            int fd;
            std::string address;
            std::uint64_t consumed;
        };
        std::vector<TakenBack> takenBack;
        std::atomic<bool> hasTakenBack{false};
        std::thread thread;
    };
    void run(Loop& loop);
    void accept(Loop& loop);
    void hold(Loop& loop, int fd, Pending&& pending);
    void adoptTakenBack(Loop& loop);
    enum class Peeked { Waiting, Gone, Answered };
    void readable(Loop& loop, int fd);
    Peeked peek(Loop& loop, int fd);
    bool readOwned(Loop& loop, int fd, Pending& pending);
    bool takeHead(Loop& loop, int fd, Pending& pending, std::size_t headBytes);
    Peeked answer(Loop& loop, int fd, Pending& pending, Answer&& answer);
    void relay(Loop& loop, int fd, Pending& pending, std::shared_ptr<Relay> relay);
    void relayed(Loop& loop, int fd, Answer&& answer);
    void event(Loop& loop, int fd, std::uint32_t events);
    enum class Sent { All, Waiting, Gone };
    Sent sendOutgoing(Loop& loop, int fd, Pending& pending);
    void watchWrites(Loop& loop, int fd, bool on);
    void rearm(Pending& pending);
    void passOn(Loop& loop, std::map<int, Pending>::iterator it, std::size_t headBytes);
    void expire(Loop& loop);
    void refuse(int fd, unsigned status, const std::string& error, const std::string& message);
    void drop(Loop& loop, int fd);
    bool admit(const std::string& key);
    void releaseLocked(const std::string& key);
    void listenFor(Loop& loop, bool accepting);
    void wakeAll();

    GateLimits limits_;
    HandOff handOff_;
    OnRefusal onRefusal_;
    AnswerHere answerHere_;
    UniqueFd listen_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;  // guards open_ and perAddress_
    unsigned open_ = 0;
    std::map<std::string, unsigned> perAddress_;
    std::vector<std::unique_ptr<Loop>> loops_;
    std::atomic<unsigned> nextTakingLoop_{0};
    ConnectionBridges bridges_;
};

}  // namespace imagebuild::forwarder
