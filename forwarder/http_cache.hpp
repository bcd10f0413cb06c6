// Conditional GET: an ETag for every whole (non-streamed) 200 answer to a GET,
// and 304 Not Modified when the client already has it (If-None-Match). A
// dashboard polling /v1/builds or /v1/hosts then moves a few bytes when
// nothing changed.
#pragma once

#include <string>

#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

// A strong entity tag for a body: its 64-bit hash (std::hash) and length.
std::string etagOfBody(const std::string& body);

// If-None-Match holds `etag` (or "*"); weak tags (W/"...") compare equal too.
bool etagMatches(const std::string& ifNoneMatch, const std::string& etag);

// For GET/HEAD answers with status 200, a body and no ETag yet: adds one and
// turns the answer into an empty 304 if the request's If-None-Match matches.
void applyConditionalGet(const Request& request, Response& response);

}  // namespace imagebuild::forwarder
