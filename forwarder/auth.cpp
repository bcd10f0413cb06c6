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
    if (access == Access::Write && identity->role == TokenRole::Read) {
        return jsonError(403, "Forbidden", "token '" + identity->name + "' may read but not write");
    }
    request.identity = identity->name;
    request.role = identity->role;
    if (identity->name == policy.fleetTokenName) {
        if (auto user = request.header(kSubmitterHeader); !user.empty()) {
            auto roleWord = request.header(kRoleHeader);
            auto role =
                roleWord.empty() ? std::optional(TokenRole::Write) : parseTokenRole(roleWord);
            if (!role) {
                return jsonError(400, "BadRequest",
                                 fmt::format("{} must be read, write or admin, not '{}'",
                                             kRoleHeader, roleWord.substr(0, 40)));
            }
            if (access == Access::Write && *role == TokenRole::Read) {
                return jsonError(403, "Forbidden", "token '" + user + "' may read but not write");
            }
            request.identity = user;
            request.role = *role;
        }
    }
    return std::nullopt;
}

std::optional<Response> refuseCancel(const Request& request, const BuildInfo& build,
                                     std::uint32_t forwarderUid) {
    return refuseChange(request, build, forwarderUid, "cancel");
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
