// A client connection whose next request the gate has read from the socket
// already (a connection it answered itself and so owns: http_gate.hpp) and
// now finds is not its to answer. libmicrohttpd takes a socket, never bytes
// read from one; so the request goes to it over a socket pair: the bytes
// taken first, then whatever the client sends, and the answer back, each
// way through a bounded buffer, by a thread of the bridge's own (the
// request's libmicrohttpd thread is one more: a request handed off this way
// costs what one handed off at its first head costs, plus a copy).
//
// libmicrohttpd cannot account bytes on a socket pair (hand_back.hpp), so
// it ends the connection after this one answer; the client opens another.
// Connections that ask only what the gate answers itself (health checks)
// never come here.
#pragma once

#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"

namespace imagebuild::forwarder {

// Copies between `client` and `inner` both ways until `inner` has ended
// and its last bytes have been written to `client` (or either breaks,
// `stopFd` becomes readable, or bytes waited `idle` to be written: a client
// that never reads its answer holds no thread for longer). `taken`: bytes read
// from `client` before, written to `inner` first. Non-blocking
// descriptors; neither is closed.
void relayBothWays(int client, int inner, std::string taken, int stopFd,
                   std::chrono::milliseconds idle);

class ConnectionBridges {
public:
    // `idle`: see relayBothWays (the connection's idle timeout).
    explicit ConnectionBridges(std::chrono::milliseconds idle);
    ~ConnectionBridges();
    ConnectionBridges(const ConnectionBridges&) = delete;
    ConnectionBridges& operator=(const ConnectionBridges&) = delete;

    // Takes `client` (closed when its relay ends) and returns the other end
    // of the pair for libmicrohttpd; an invalid UniqueFd (client closed) if
    // no pair could be made or the bridges have stopped.
    UniqueFd open(int client, std::string taken);
    // Ends every relay (their connections are cut) and waits for them.
    void stop();

private:
    struct Bridge {
        std::thread thread;
        bool done = false;
    };
    void reapDone();

    std::chrono::milliseconds idle_;
    UniqueFd stop_;  // eventfd: readable once stop() was called
    std::mutex mutex_;
    bool stopped_ = false;
    std::list<Bridge> bridges_;
};

}  // namespace imagebuild::forwarder
