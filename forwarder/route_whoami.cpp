// GET /v1/whoami: who the bearer token is, so that a client (the web
// interface's sign-in box) can check a token before it keeps it, instead of
// learning at the first write that it is wrong. Always needs a token, even
// with read_open: without one there is nobody to name.
#include <nlohmann/json.hpp>

#include "forwarder/app.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/routes.hpp"
#include "forwarder/tokens.hpp"

namespace imagebuild::forwarder {

namespace {

Response handleWhoamiGet(const App& app, Request& request) {
    // dispatch() has refused a wrong token already; an absent one passed as
    // an anonymous read. Asked again with reads closed, it is the same 401
    // (and message) as any route that needs a token.
    AuthPolicy needsToken = app.authPolicy();
    needsToken.readOpen = false;
    if (auto denied = authorize(request, Access::Read, app.tokens(), needsToken)) {
        return *denied;
    }
    nlohmann::json body{{"name", request.identity}, {"role", tokenRoleName(request.role)}};
    return jsonResponse(200, body.dump());
}

}  // namespace

void registerWhoami(App& app) {
    app.router().addOnLoop("GET", "/v1/whoami", Access::Read,
                           std::bind_front(handleWhoamiGet, std::cref(app)));
}

}  // namespace imagebuild::forwarder
