// GET /v1/whoami: who the bearer token is, so that a client (the web
// interface's sign-in box) can check a token before it keeps it, instead of
// learning at the first write that it is wrong. Always needs a token, even
// with read_open: without one there is nobody to name.
#include <nlohmann/json.hpp>

#include "forwarder/app.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

// The role as the tokens file spells it.
const char* roleName(TokenRole role) {
    switch (role) {
        case TokenRole::Read:
            return "read";
        case TokenRole::Write:
            return "write";
    }
    return "unknown";
}

Response handleWhoamiGet(const App& app, Request& request) {
    // dispatch() has refused a wrong token already; an absent one passed as
    // an anonymous read. Asked again with reads closed, it is the same 401
    // (and message) as any route that needs a token.
    AuthPolicy needsToken = app.authPolicy();
    needsToken.readOpen = false;
    if (auto denied = authorize(request, Access::Read, app.tokens(), needsToken)) {
        return *denied;
    }
    constexpr std::string_view scheme = "Bearer ";
    auto token = app.tokens().verify(
        std::string_view(request.header("authorization")).substr(scheme.size()));
    if (!token) {
        return jsonError(401, "Unauthorized", "the bearer token is not valid here");
    }
    nlohmann::json body{{"name", request.identity}, {"role", roleName(token->role)}};
    return jsonResponse(200, body.dump());
}

}  // namespace

void registerWhoami(App& app) {
    app.router().add("GET", "/v1/whoami", Access::Read,
                     std::bind_front(handleWhoamiGet, std::cref(app)));
}

}  // namespace imagebuild::forwarder
