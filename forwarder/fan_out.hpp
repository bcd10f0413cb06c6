// Asking every peer at once: a fleet-wide answer (GET /v1/builds, /v1/hosts,
// /v1/stats) needs one request per host, and one after the other 100 hosts
// at 10 ms each would make every dashboard poll take a second. At once, and
// without a thread per peer: the caller's thread drives every exchange on
// non-blocking sockets (an epoll instance of its own and an HttpLoopClient),
// as the gate's loops do.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "common/http_loop_client.hpp"

namespace imagebuild::forwarder {

// Each exchange's end: its answer, or why there is none (one is null).
using ExchangeDone =
    std::function<void(std::size_t index, HttpResponse* response, const HttpError* error)>;

// Sends every request at once and returns when each has ended (answered,
// failed, or past its own timeout), `done` called for each on this thread.
void exchangeAll(std::vector<HttpLoopRequest> requests, const ExchangeDone& done);

}  // namespace imagebuild::forwarder
