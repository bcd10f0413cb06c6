// libmicrohttpd glue: one thread per connection (handlers may block on D-Bus
// and on peers; streams block on the journal), body size and connection
// limits, an idle timeout. Everything else is the dispatcher's.
#pragma once

#include <cstddef>
#include <functional>

#include "common/unique_fd.hpp"
#include "forwarder/http_types.hpp"

struct MHD_Daemon;

namespace imagebuild::forwarder {

struct ServerLimits {
    std::size_t maxBodyBytes = 1024 * 1024;
    std::size_t maxUploadBytes = 16 * 1024 * 1024;  // multipart/form-data bodies
    unsigned maxConnections = 256;
    unsigned idleTimeoutSec = 60;
};

class HttpServer {
public:
    using Dispatch = std::function<Response(Request&)>;

    // Starts serving at once; throws std::runtime_error if libmicrohttpd refuses.
    HttpServer(UniqueFd listenFd, ServerLimits limits, Dispatch dispatch);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Called by libmicrohttpd's trampolines; public for them only.
    struct Context;
    int handle(void* connection, const char* url, const char* method, const char* uploadData,
               std::size_t* uploadSize, void** state);

private:
    ServerLimits limits_;
    Dispatch dispatch_;
    MHD_Daemon* daemon_ = nullptr;
};

}  // namespace imagebuild::forwarder
