#include "forwarder/auth.hpp"

#include <fmt/format.h>

#include "forwarder/json_error.hpp"

namespace imagebuild::forwarder {

namespace {

Response unauthorized(const std::string& message) {
    auto response = jsonError(401, "Unauthorized", message);
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"imagebuild\"");
    return response;
}

}  // namespace

std::optional<Response> authorize(Request& request, Access access, const TokenStore& tokens,
                                  const AuthPolicy& policy) {
    request.identity.clear();
    for (const char* claim : {kSubmitterHeader, kRoleHeader}) {
        if (!request.header(claim).empty()) {
            return jsonError(400, "BadRequest",
                             fmt::format("{} is not accepted: a peer passes the user's own "
                                         "Authorization on, and the host that serves the request "
                                         "checks it",
                                         claim));
        }
    }
    auto header = request.header("authorization");
    if (header.empty()) {
        if (access == Access::Read && policy.readOpen) {
            return std::nullopt;
        }
        return unauthorized("this request needs 'Authorization: Bearer <token>'");
    }
    constexpr std::string_view scheme = "Bearer ";
    if (header.size() <= scheme.size() || header.compare(0, scheme.size(), scheme) != 0) {
        return unauthorized("the Authorization header must be 'Bearer <token>'");
    }
    auto identity = tokens.verify(std::string_view(header).substr(scheme.size()));
    if (!identity) {
        return unauthorized("the bearer token is not valid here");
    }
    if (identity->name == policy.fleetTokenName) {
        identity->role = TokenRole::Read;
    }
    if (access == Access::Write && identity->role == TokenRole::Read) {
        return jsonError(403, "Forbidden",
                         identity->name == policy.fleetTokenName
                             ? fmt::format("the fleet token '{}' may only read; a peer forwards "
                                           "writes with the user's own token",
                                           identity->name)
                             : "token '" + identity->name + "' may read but not write");
    }
    request.identity = identity->name;
    request.role = identity->role;
    return std::nullopt;
}

std::optional<Response> refuseCancel(const Request& request, const BuildInfo& build,
                                     std::uint32_t forwarderUid) {
    return refuseChange(request, build, forwarderUid, "cancel");
}

std::optional<Response> refusePriority(const Request& request, std::int32_t priority) {
    if (priority <= 0 || request.role == TokenRole::Admin) {
        return std::nullopt;
    }
    return jsonError(403, "Forbidden",
                     fmt::format("priority {} is above normal (0); token '{}' may ask 0 or less, "
                                 "only an admin token more",
                                 priority, request.identity));
}

std::optional<Response> refuseChange(const Request& request, const BuildInfo& build,
                                     std::uint32_t forwarderUid, const char* verb) {
    if (request.role == TokenRole::Admin) {
        return std::nullopt;
    }
    if (build.submitterUid != forwarderUid) {
        return jsonError(
            403, "Forbidden",
            fmt::format("build {} was submitted by '{}' (uid {}) on its host, not over HTTP; only "
                        "an admin token may {} it",
                        build.id, build.submitter, build.submitterUid, verb));
    }
    if (build.submitter != request.identity) {
        return jsonError(403, "Forbidden",
                         fmt::format("build {} was submitted by '{}'; token '{}' may {} only "
                                     "its own builds (an admin token may {} any)",
                                     build.id, build.submitter, request.identity, verb, verb));
    }
    return std::nullopt;
}

}  // namespace imagebuild::forwarder
