// Requests the gate's loop answers itself (http_gate.hpp), without handing
// the connection to a thread of libmicrohttpd: routes that never block (the
// health check that peers and load balancers ask many times a second), in
// a request that needs nothing libmicrohttpd does for others. Anything else
// (a body, a target with escapes, a version other than 1.0/1.1) goes the
// usual way. Pure: the gate peeks the head and sends the bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/http_loop_client.hpp"
#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

// A request a loop may take (the gate's, or the stream loop:
// stream_choice.cpp), read from a complete head that passed
// checkRequestHead(): a GET or HEAD, no body (nor Expect or Upgrade), a
// target without %-escapes or '+' (so nothing is to be decoded, and nothing
// can be decoded otherwise than libmicrohttpd would), HTTP/1.0 or 1.1.
// nullopt: not for a loop.
struct LoopRequest {
    Request request;
    std::size_t fields = 0;  // header fields, repeated names counted each time
    bool keepAlive = true;   // libmicrohttpd's rule: 1.1 unless "close"; 1.0 if "keep-alive"
    bool http10 = false;     // kept alive, an HTTP/1.0 answer says so ("Connection: Keep-Alive")
};
std::optional<LoopRequest> loopRequestOfHead(std::string_view head);

class AgentOnLoop;

// A request the loop passes on before it answers: to the peer that owns the
// build (`request`, the peer's answer made ours by `finish`), or, for a
// build of this host, to the agent (`ask`, on the loop's bus connection:
// agent_on_loop.hpp), which calls `done` with the answer.
using AskAgent = std::function<void(AgentOnLoop& agent, std::function<void(Response&&)> done)>;
struct LoopRelay {
    HttpLoopRequest request;
    std::function<Response(HttpResponse* answer, const HttpError* error)> finish;
    AskAgent ask;
};

// What the loop does with a request: answers it now, or relays it first.
// Neither: a thread serves it.
struct OnLoop {
    std::optional<Response> response;
    std::optional<LoopRelay> relay;
};

// The answer's bytes as libmicrohttpd would send them for a body held in
// memory: status line, Date, Content-Type, Content-Length, the response's
// own headers, "Connection: close" when the connection ends after it; no
// body for HEAD. `date` is an HTTP date ("Thu, 03 Dec 2026 21:00:00 GMT").
std::string loopAnswerBytes(const Response& response, bool headOnly, bool close,
                            std::string_view date);

// The current HTTP date, made at most once a second per thread.
std::string_view httpDateNow();

}  // namespace imagebuild::forwarder
