// A kept-alive connection's next request head, checked before libmicrohttpd
// reads a byte of it. libmicrohttpd answers a head it refuses itself (400,
// 414, 431, 505) with its own HTML and offers no hook to change that, and
// the gate sees only a connection's first head. So when a response has been
// sent, the connection's own thread (libmicrohttpd's notify-completed
// callback runs on it, before the connection reads again) waits here, peeking
// as the gate does, until the next head has arrived whole and passed the same
// checks (request_head.hpp); a head that fails is refused in our JSON and the
// connection ended beneath libmicrohttpd, which then never parses it.
//
// Waiting is sound only if libmicrohttpd holds no byte of the next request in
// its own buffer (a client that pipelines): the bytes it has read,
// tcpi_bytes_received less what is still queued in the kernel, must equal
// what the requests so far took (heads measured here, Content-Length bodies:
// no other body is admitted). When they differ, the client pipelined and the
// connection ends after its complete answer (http_server.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

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
        Ended,    // the client closed, or sent nothing within the deadline
        Refused,  // `problem` (408 for a head that did not arrive in time)
    };
    Outcome outcome = Outcome::Ended;
    std::size_t headBytes = 0;
    HeadProblem problem;
};

// Blocks until the next head on `fd` has arrived or `timeout` has passed.
HeadWait waitForHead(int fd, const HeadLimits& limits, std::chrono::seconds timeout);

// Sends our JSON error, ends the sending side and reads away what the client
// sent, so that the close that follows does not reset the connection and
// lose the answer. The gate and the kept-alive connections both refuse so.
void refuseConnection(int fd, unsigned status, const std::string& error,
                      const std::string& message);

// Closes the connection beneath its owner: `fd` stays a valid descriptor,
// now of a socket at its end, so libmicrohttpd reads an end, not the bytes
// of a refused head, and closes it as any ended connection.
void endBeneath(int fd);

}  // namespace imagebuild::forwarder
