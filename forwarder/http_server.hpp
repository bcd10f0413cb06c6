// libmicrohttpd glue: one thread per connection once its request head has
// arrived (handlers may block on D-Bus and on peers; streams block on the
// journal); until then the connection waits in the gate (http_gate.hpp),
// which costs no thread. At the head, before a byte of the body is read, the
// request is admitted (routed, authenticated, its body limit known) or
// refused, and the connection closed. A kept-alive connection's next head is
// checked as the gate checks a first one, on the connection's thread before
// libmicrohttpd reads it (head_wait.hpp): every refusal is our JSON.
// Everything else is the dispatcher's.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/unique_fd.hpp"
#include "forwarder/http_gate.hpp"
#include "forwarder/http_types.hpp"

struct MHD_Daemon;

namespace imagebuild::forwarder {

struct ServerLimits {
    GateLimits gate;
    unsigned idleTimeoutSec = 60;
};

class HttpServer {
public:
    // Called with method, path, query and headers filled, no body.
    using Admit = std::function<Admission(Request&)>;
    using Dispatch = std::function<Response(Request&)>;
    // A connection refused before any route saw it (the gate, or a
    // kept-alive connection's next head): status and JSON error name.
    using OnRefusal = HttpGate::OnRefusal;
    // The answer to a request whose route never blocks, made on the gate's
    // loop (App::answerOnLoop); nullopt: the request goes to a thread.
    using AnswerOnLoop = std::function<std::optional<Response>(Request&)>;

    // Starts serving at once; throws std::runtime_error if libmicrohttpd refuses.
    HttpServer(UniqueFd listenFd, ServerLimits limits, Admit admit, Dispatch dispatch,
               OnRefusal onRefusal = {}, AnswerOnLoop answerOnLoop = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Called by libmicrohttpd's trampolines; public for them only.
    struct Context;
    int handle(void* connection, const char* url, const char* method, const char* version,
               const char* uploadData, std::size_t* uploadSize, void** state);
    void connectionStarted(int fd, void** socketContext);
    void connectionClosed(void** socketContext);
    // An answer was sent and the connection is kept: on its thread, waits
    // for its next head and checks it before libmicrohttpd reads it.
    void awaitNextHead(void* socketContext);

    struct Tracked;

private:
    bool handOff(int fd, const struct sockaddr* address, unsigned length, std::size_t headBytes);
    void countBody(void* connection);
    // The connection was ended beneath libmicrohttpd (awaitNextHead).
    bool endedBeneath(void* connection);
    void refused(unsigned status, const std::string& error);
    std::optional<HttpGate::Answer> answerHere(std::string_view head);

    ServerLimits limits_;
    Admit admit_;
    Dispatch dispatch_;
    OnRefusal onRefusal_;
    AnswerOnLoop answerOnLoop_;
    MHD_Daemon* daemon_ = nullptr;
    std::mutex handedOffMutex_;
    // fd -> its address and first head's length, until libmicrohttpd takes it
    std::map<int, std::pair<std::string, std::size_t>> handedOff_;
    std::unique_ptr<HttpGate> gate_;
};

}  // namespace imagebuild::forwarder
