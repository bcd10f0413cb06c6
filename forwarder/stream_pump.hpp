// A stream that blocks (a peer's artifact or log relayed, a journal read),
// served from the request loop (http_server.hpp), whose thread must never
// wait: a worker reads the stream ahead into a bounded buffer, and the
// loop's content reader takes from that buffer, parking its connection
// when it is empty (stream_parking.hpp); the worker unparks it when it has
// added bytes. The worker reads only while the buffer has room and then
// gives its thread back: a client slower than the stream's source (a
// download over a slow link) holds no thread, only the buffer. A source
// slower than its client holds a worker while it is read, as a handler
// that waits does (ServerLimits::requestHandlers bounds both).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "forwarder/http_types.hpp"
#include "forwarder/stream_parking.hpp"

namespace imagebuild::forwarder {

// Bytes read ahead at most, per stream: enough that the loop finds bytes
// waiting while the worker reads the next ones, and a small part of a
// thread's cost.
inline constexpr std::size_t kPumpBufferBytes = 128 * 1024;

struct PumpWorkers {
    // Runs `job` on a worker; false if none will (the server stops).
    std::function<bool(std::function<void()>)> post;
    // The server stops: a worker reading ahead ends the stream.
    std::function<bool()> stopping;
};

// The loop's side of `source` (which may block): a stream that returns
// the bytes read ahead, 0 after parking `parking`'s connection when there
// are none yet, kStreamEnd at the source's end and kStreamBroken if it
// cannot go on (the source threw, or the server stops). Reading starts at
// its first call; destroying it (libmicrohttpd frees the answer) stops the
// worker after its current read of the source.
BodyStream pumpedStream(BodyStream source, std::shared_ptr<StreamParking> parking,
                        PumpWorkers workers, std::size_t bufferBytes = kPumpBufferBytes);

}  // namespace imagebuild::forwarder
