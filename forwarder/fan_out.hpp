// Asking every peer at once: a fleet-wide answer (GET /v1/builds, /v1/hosts,
// /v1/stats) needs one request per host, and one after the other 100 hosts
// at 10 ms each would make every dashboard poll take a second. At once, and
// without a thread per peer: the caller's thread drives every exchange on
// non-blocking sockets (an epoll instance and an HttpLoopClient), as the
// gate's loops do. The keep-alive connections to the peers are kept between
// two fleet-wide answers: each answer takes an engine (epoll, client and
// its idle connections) from the pool and gives it back after, so the next
// one, on any thread, finds them open (a new TCP connection to each of 50
// peers made every dashboard poll 1.8x slower than the threads it replaced).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/capped_pool.hpp"
#include "common/http_loop_client.hpp"

namespace imagebuild::forwarder {

// Each exchange's end: its answer, or why there is none (one is null).
using ExchangeDone =
    std::function<void(std::size_t index, HttpResponse* response, const HttpError* error)>;

class ExchangePool {
public:
    // At most this many engines are kept idle: as many fleet-wide answers
    // at once find their peers' connections open.
    static constexpr std::size_t kKeptEngines = 4;
    // An engine unused this long is dropped: a forwarder closes a kept
    // connection idle for head_timeout_sec (10 s by default).
    static constexpr auto kKeptFor = std::chrono::seconds(8);

    // At most this many engines exist, in use and idle: each holds a
    // connection to every peer, and a peer caps those of one address
    // (max_connections_per_address, 128; the threads' and the gate loops'
    // own take 96 of them). More fleet-wide answers at once wait for one.
    static constexpr std::size_t kMaxEngines = 16;

    explicit ExchangePool(std::chrono::milliseconds keptFor = kKeptFor,
                          std::size_t maxEngines = kMaxEngines);
    ~ExchangePool();
    ExchangePool(const ExchangePool&) = delete;
    ExchangePool& operator=(const ExchangePool&) = delete;

    // Sends every request at once and returns when each has ended
    // (answered, failed, or past its own timeout), `done` called for each
    // on this thread. Any number of threads may call it at once; one that
    // finds no engine free within the longest request's timeout ends each
    // request with a timed-out connect error.
    void exchangeAll(std::vector<HttpLoopRequest> requests, const ExchangeDone& done);

private:
    struct Engine;
    std::unique_ptr<Engine> take(std::chrono::steady_clock::time_point deadline);

    std::chrono::milliseconds keptFor_;
    CappedPool<Engine> pool_;
};

}  // namespace imagebuild::forwarder
