// Asking every peer at once: a fleet-wide answer (GET /v1/builds, /v1/hosts)
// needs one request per host, and one after the other 100 hosts at 10 ms
// each would make every dashboard poll take a second.
#pragma once

#include <cstddef>
#include <functional>

namespace imagebuild::forwarder {

// At most this many peer requests of one fleet-wide answer are in flight.
inline constexpr std::size_t kMaxPeerRequestsAtOnce = 16;

// Runs task(i) for every i below `count` on up to `maxThreads` threads (the
// caller's one of them) and returns when all have run. Each task writes its
// own result slot; a task's exception is rethrown here once all are done.
void forEachConcurrently(std::size_t count, std::size_t maxThreads,
                         const std::function<void(std::size_t)>& task);

}  // namespace imagebuild::forwarder
