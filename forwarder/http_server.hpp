// libmicrohttpd glue: one thread per connection once its request head has
// arrived (handlers may block on D-Bus and on peers; streams block on the
// journal); until then the connection waits in the gate (http_gate.hpp),
// which costs no thread. At the head, before a byte of the body is read, the
// request is admitted (routed, authenticated, its body limit known) or
// refused, and the connection closed. Everything else is the dispatcher's.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

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

    // Starts serving at once; throws std::runtime_error if libmicrohttpd refuses.
    HttpServer(UniqueFd listenFd, ServerLimits limits, Admit admit, Dispatch dispatch);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Called by libmicrohttpd's trampolines; public for them only.
    struct Context;
    int handle(void* connection, const char* url, const char* method, const char* uploadData,
               std::size_t* uploadSize, void** state);
    void connectionStarted(int fd, void** socketContext);
    void connectionClosed(void** socketContext);
    // A request ended: its connection now waits for the next head.
    void requestCompleted(void* socketContext);

    struct Tracked;

private:
    bool handOff(int fd, const struct sockaddr* address, unsigned length);
    void reapIdle();

    ServerLimits limits_;
    Admit admit_;
    Dispatch dispatch_;
    MHD_Daemon* daemon_ = nullptr;
    std::mutex handedOffMutex_;
    std::map<int, std::string> handedOff_;  // fd -> its address, until libmicrohttpd takes it
    std::unique_ptr<HttpGate> gate_;
    // Kept-alive connections waiting for their next head: past
    // head_timeout_sec they are shut down (the gate only sees first heads).
    std::mutex trackedMutex_;
    std::set<Tracked*> tracked_;
    std::mutex reaperMutex_;
    std::condition_variable reaperWake_;
    bool stopping_ = false;
    std::thread reaper_;
};

}  // namespace imagebuild::forwarder
