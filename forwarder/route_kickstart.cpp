// GET /v1/builds/{id}/kickstart: the flattened kickstart a build was submitted
// with (Build1.GetKickstart), as text/plain; served by the owning host.
// A kickstart may hold password hashes: only the token that submitted the
// build over HTTP, or an admin token, reads it (decided on the owning host,
// where a forwarded request carries the token's name and role).
#include <fmt/format.h>
#include <unistd.h>

#include "forwarder/app.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

// nullopt when `request` may read the kickstart of `build`; otherwise the
// 401/403 to send. The fleet token alone (a peer relaying an anonymous
// request) is nobody.
std::optional<Response> refuseKickstart(const Request& request, const BuildInfo& build,
                                        const std::string& fleetTokenName) {
    if (request.identity.empty() || request.identity == fleetTokenName) {
        auto response = jsonError(401, "Unauthorized",
                                  fmt::format("the kickstart of build {} may hold secrets: "
                                              "reading it needs the submitter's or an admin token",
                                              build.id));
        response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"imagebuild\"");
        return response;
    }
    if (request.role == TokenRole::Admin ||
        (build.submitterUid == getuid() && build.submitter == request.identity)) {
        return std::nullopt;
    }
    return jsonError(403, "Forbidden",
                     fmt::format("build {} was submitted by '{}'; token '{}' may read only the "
                                 "kickstarts of its own builds (an admin token may read any)",
                                 build.id, build.submitter, request.identity));
}

Response handleKickstartGet(App& app, Request& request) {
    return forBuild(app, request, [&](const std::string& id) {
        if (auto refused =
                refuseKickstart(request, app.agent().get(id), app.authPolicy().fleetTokenName)) {
            return *refused;
        }
        Response response;
        response.contentType = "text/plain; charset=utf-8";
        response.body = app.agent().kickstart(id);
        response.headers.emplace_back("X-Content-Type-Options", "nosniff");
        return response;
    });
}

}  // namespace

void registerKickstart(App& app) {
    app.router().addRelayedOnLoop("GET", "/v1/builds/{id}/kickstart", Access::Read,
                                  std::bind_front(handleKickstartGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
