// Every error the forwarder returns is JSON: {"error": name, "message": text}.
#pragma once

#include <string>

#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

Response jsonError(unsigned status, const std::string& name, const std::string& message);
Response jsonResponse(unsigned status, const std::string& body);

// Standard names for the status codes the forwarder produces.
std::string errorNameForStatus(unsigned status);

// "Name: message" of an answer made by jsonError, for a log line; "" for
// any other body.
std::string errorSummary(const Response& response);

}  // namespace imagebuild::forwarder
