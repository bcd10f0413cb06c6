// A connection the request loop has answered waits there for its next
// request a short grace, then goes back to the gate (http_gate.hpp).
// libmicrohttpd answers a head it refuses itself (400, 414, 431, 505) with
// its own HTML and offers no hook to change that, so every head is checked
// before libmicrohttpd reads it: when an answer has been sent, the loop
// peeks at the next head as it arrives and checks it as the gate does
// (request_loop.hpp). A client that asks again at once (a browser fetching
// a page's parts, a load generator, a peer's fan-out) stays on the loop.
// Past the grace the socket is taken from beneath libmicrohttpd, which
// reads an end and closes its side, and the gate's loop holds it, costing
// a descriptor, until its next head has arrived and passed (or is answered
// on the gate's loop).
//
// Waiting or taking is sound only if libmicrohttpd holds no byte of the
// next request in its own buffer (a client that pipelines): the bytes it
// has read, tcpi_bytes_received less what is still queued in the kernel,
// must equal what the requests took (what the kernel had taken before the
// hand-off, heads measured here, Content-Length bodies: no other body is
// admitted). When they differ, the client pipelined and the connection
// ends after its complete answer (http_server.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/unique_fd.hpp"
#include "forwarder/request_head.hpp"

namespace imagebuild::forwarder {

// How many bytes of the connection libmicrohttpd has read: nullopt if the
// kernel cannot say. `expected`: what the requests so far took; when the
// kernel has received no more than that, one call tells (the common case:
// a client that waits for its answer before it asks again).
std::optional<std::uint64_t> bytesConsumed(int fd, std::uint64_t expected);

struct HeadWait {
    enum class Outcome {
        Arrived,  // a complete head that passed: headBytes long
        Ended,    // the client closed
        Refused,  // `problem`
        Quiet,    // no whole head within the grace: the gate's to wait for
    };
    Outcome outcome = Outcome::Quiet;
    std::size_t headBytes = 0;
    // Arrived: the head's bytes (still queued in the socket), valid until
    // the next wait or peek on this thread.
    std::string_view head;
    HeadProblem problem;
};

// One look, without waiting, at what has arrived of the next head on `fd`
// (`seen`: the bytes the last look found, 0 at first): nullopt while there
// is only part of a head, and `fd` is then set to wake a poll or epoll
// (level-triggered) only when more than that has arrived; once there is an
// outcome, it wakes as usual again. For an event loop's waits
// (request_loop.hpp).
std::optional<HeadWait> peekHead(int fd, const HeadLimits& limits, std::size_t& seen);
// A wait that ends without an outcome (its time is up): `fd` wakes as usual again.
void endHeadWait(int fd, std::size_t seen);

// Sends our JSON error, ends the sending side and reads away what the client
// sent, so that the close that follows does not reset the connection and
// lose the answer. The gate and the kept-alive connections both refuse so.
void refuseConnection(int fd, unsigned status, const std::string& error,
                      const std::string& message);

// Takes the connection from beneath its owner: `fd` stays a valid
// descriptor, now of a socket at its end, so libmicrohttpd reads an end and
// closes it as any ended connection; the connection itself is returned
// (non-blocking), or an invalid UniqueFd if it had to be ended instead.
UniqueFd takeFromBeneath(int fd);

// Closes the connection beneath its owner, as above.
void endBeneath(int fd);

}  // namespace imagebuild::forwarder
