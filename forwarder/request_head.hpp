// The request head (request line and header fields), checked before
// libmicrohttpd ever sees the connection: everything it would refuse with its
// own HTML answer (400, 414, 431, 505) is refused here with our JSON error,
// plus what it would let through (a NUL as %00 in the target, a duplicate or
// conflicting Content-Length) and a body without a Content-Length (411: a
// chunked body is decoded where only libmicrohttpd's HTML can refuse it).
// Pure: the gate (http_gate.cpp) peeks the bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace imagebuild::forwarder {

struct HeadLimits {
    std::size_t maxHeadBytes = 16 * 1024;   // request line and all header fields (431)
    std::size_t maxTargetBytes = 8 * 1024;  // the request target: path and query (414)
    std::size_t maxHeaderFields = 100;      // (431)
};

struct HeadProblem {
    unsigned status = 400;
    std::string error;  // the JSON error name
    std::string message;
};

// Equal but for the case of ASCII letters: header names, Connection tokens.
bool iequals(std::string_view a, std::string_view b);

// How many bytes of `data` the head takes, through its empty line (CRLF or
// bare LF line ends); 0 while it is incomplete.
std::size_t headLength(std::string_view data);

// An incomplete head that can already be refused: over the head or target
// limit before its end arrived.
std::optional<HeadProblem> checkPartialHead(std::string_view data, const HeadLimits& limits);

// A complete head (as headLength() measured it): nullopt if it may be passed on.
std::optional<HeadProblem> checkRequestHead(std::string_view head, const HeadLimits& limits);

}  // namespace imagebuild::forwarder
