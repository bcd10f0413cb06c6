#include "forwarder/auth.hpp"

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
    if (access == Access::Write && identity->role != TokenRole::Write) {
        return jsonError(403, "Forbidden", "token '" + identity->name + "' may read but not write");
    }
    request.identity = identity->name;
    if (identity->name == policy.fleetTokenName) {
        if (auto user = request.header(kSubmitterHeader); !user.empty()) {
            request.identity = user;
        }
    }
    return std::nullopt;
}

}  // namespace imagebuild::forwarder
