// Who may do what over HTTP: reads are open unless read_open=false; writes
// need "Authorization: Bearer <token>" with a write token.
#pragma once

#include <optional>
#include <string>

#include "forwarder/http_types.hpp"
#include "forwarder/router.hpp"
#include "forwarder/tokens.hpp"

namespace imagebuild::forwarder {

struct AuthPolicy {
    bool readOpen = true;
    // Requests authenticated with this token name come from a peer forwarder and
    // may name the user they act for in X-Imagebuild-Submitter.
    std::string fleetTokenName = "fleet";
};

inline constexpr const char* kSubmitterHeader = "X-Imagebuild-Submitter";

// On success fills request.identity (empty for an anonymous read) and returns
// nullopt; otherwise the 401/403 JSON response to send.
std::optional<Response> authorize(Request& request, Access access, const TokenStore& tokens,
                                  const AuthPolicy& policy);

}  // namespace imagebuild::forwarder
