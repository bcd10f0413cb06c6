// GET /v1/builds/{id}/kickstart: the flattened kickstart a build was submitted
// with (Build1.GetKickstart), as text/plain; served by the owning host.
#include <sdbus-c++/Error.h>

#include "forwarder/agent_client.hpp"
#include "forwarder/app.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

Response handleKickstartGet(App& app, Request& request) {
    const auto& id = request.params.at("id");
    auto owner = findOwner(app, request, id);
    if (owner.error) {
        return *owner.error;
    }
    if (owner.peer) {
        return forwardTo(app, owner.peer->url, request);
    }
    try {
        Response response;
        response.contentType = "text/plain; charset=utf-8";
        response.body = app.agent().kickstart(id);
        response.headers.emplace_back("X-Content-Type-Options", "nosniff");
        return response;
    } catch (const sdbus::Error& e) {
        return responseForDbusError(e);
    }
}

}  // namespace

void registerKickstart(App& app) {
    app.router().add("GET", "/v1/builds/{id}/kickstart", Access::Read,
                     std::bind_front(handleKickstartGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
