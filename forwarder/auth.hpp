// Who may do what over HTTP: reads are open unless read_open=false; writes
// need "Authorization: Bearer <token>" with a write (or admin) token; a build
// is cancelled by the token that submitted it, or by an admin token.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/build_info.hpp"

#include "forwarder/http_types.hpp"
#include "forwarder/router.hpp"
#include "forwarder/tokens.hpp"

namespace imagebuild::forwarder {

struct AuthPolicy {
    bool readOpen = true;
    // The fleet token's name. Forwarders present it to each other for the
    // requests nobody authenticated (anonymous reads); it reads only,
    // whatever role the tokens file gives it. A peer asserts nothing about
    // who sent a request: it passes the user's own Authorization on, and the
    // host that serves the request checks that token itself. So the fleet
    // secret, wherever it leaks, cannot write or act for anyone.
    std::string fleetTokenName = "fleet";
};

// Headers by which peers of older versions named the user they acted for:
// refused (400), so that nothing that sends them is silently served as
// someone else.
inline constexpr const char* kSubmitterHeader = "X-Imagebuild-Submitter";
inline constexpr const char* kRoleHeader = "X-Imagebuild-Role";

// On success fills request.identity (empty for an anonymous read) and
// request.role, and returns nullopt; otherwise the 400/401/403 JSON response
// to send.
std::optional<Response> authorize(Request& request, Access access, const TokenStore& tokens,
                                  const AuthPolicy& policy);

// Whether the request may cancel `build`, decided by the host that owns it:
// an admin token may cancel any build; another token only a build submitted
// through this host's forwarder (its SubmitterUid is `forwarderUid`) in the
// token's name. nullopt when allowed; otherwise the 403 JSON response saying
// why.
std::optional<Response> refuseCancel(const Request& request, const BuildInfo& build,
                                     std::uint32_t forwarderUid);
// A priority above normal (spec key "priority" > 0) needs an admin token,
// as it needs org.imagebuild.manage on D-Bus. nullopt when allowed.
std::optional<Response> refusePriority(const Request& request, std::int32_t priority);
// The same rule for another verb on a build ("retry"), named in the 403.
std::optional<Response> refuseChange(const Request& request, const BuildInfo& build,
                                     std::uint32_t forwarderUid, const char* verb);

}  // namespace imagebuild::forwarder
