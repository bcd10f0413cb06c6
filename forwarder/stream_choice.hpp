// Which of the two libmicrohttpd loops serves a connection, chosen by its
// first head when the gate hands it off (http_server.hpp), and again by
// each next head of a kept-alive connection on the request loop:
// - the stream loop: a follower of a build's log (`GET /monitor/<id>` with
//   `?follow=1` as text, or SSE; a local build's from the follow hub's
//   ring, a peer's from the hub's relay of its owner's stream), whose head
//   is small and has no body;
// - the request loop: everything else (the API, the web UI, downloads,
//   logs read to their end, and a follower too large for the stream loop,
//   which parks there the same way).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace imagebuild::forwarder {

// Followers' heads above these go to the request loop: the stream loop's connections
// have a small memory pool (http_server.cpp) that must hold the head,
// libmicrohttpd's record of each header field and the answer's head.
inline constexpr std::size_t kStreamLoopMaxHeadBytes = 1024;
inline constexpr std::size_t kStreamLoopMaxHeaderFields = 24;

enum class ServedBy { StreamLoop, RequestLoop };

// `head`: a complete head the gate has checked (request_head.hpp).
ServedBy daemonFor(std::string_view head);

}  // namespace imagebuild::forwarder
