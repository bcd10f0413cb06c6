// Which of the three libmicrohttpd daemons serves a connection, chosen by its
// first head when the gate hands it off (http_server.hpp). The stream loop
// takes only what it can serve without blocking: a follower of a build's
// log (`GET /monitor/<id>` with `?follow=1` as text, or SSE; a local
// build's from the follow hub's ring, a peer's from the hub's relay of its
// owner's stream), whose head is small and has no body. Everything else
// (the HTML page; a head with percent-escapes or a body; any other route)
// goes to the
// request loop, except what may be answered with a stream that blocks (a
// peer's artifact or log relayed, a journal read: `/artifacts/`,
// `/monitor/`, and any target with a percent-escape, which libmicrohttpd
// decodes into a path this check cannot see), which goes to the
// thread-per-connection daemon: it serves every request correctly, and a
// wrong "thread" costs a thread, never an answer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace imagebuild::forwarder {

// Heads above these go to the thread daemon: the stream loop's connections
// have a small memory pool (http_server.cpp) that must hold the head,
// libmicrohttpd's record of each header field and the answer's head.
inline constexpr std::size_t kStreamLoopMaxHeadBytes = 1024;
inline constexpr std::size_t kStreamLoopMaxHeaderFields = 24;

enum class ServedBy { StreamLoop, RequestLoop, Threads };

// `head`: a complete head the gate has checked (request_head.hpp).
bool servedOnStreamLoop(std::string_view head);
ServedBy daemonFor(std::string_view head);

}  // namespace imagebuild::forwarder
