// GET /v1/builds/{id}/kickstart: the flattened kickstart a build was submitted
// with (Build1.GetKickstart), as text/plain; served by the owning host.
#include "forwarder/agent_client.hpp"
#include "forwarder/app.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

Response handleKickstartGet(App& app, Request& request) {
    return forBuild(app, request, [&](const std::string& id) {
        Response response;
        response.contentType = "text/plain; charset=utf-8";
        response.body = app.agent().kickstart(id);
        response.headers.emplace_back("X-Content-Type-Options", "nosniff");
        return response;
    });
}

}  // namespace

void registerKickstart(App& app) {
    app.router().add("GET", "/v1/builds/{id}/kickstart", Access::Read,
                     std::bind_front(handleKickstartGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
