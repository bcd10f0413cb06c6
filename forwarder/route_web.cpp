// The web interface: GET / (fleet dashboard), /builds/{id} (one build),
// /submit (the form) and /static/{name}. The pages carry no data: their
// scripts read the /v1 API, so every forwarder serves the same interface for
// the whole fleet. See docs/web.md.
#include "common/build_id.hpp"
#include "forwarder/app.hpp"
#include "forwarder/routes.hpp"
#include "forwarder/web_files.hpp"

namespace imagebuild::forwarder {

namespace {

Response handleDashboard(App& app, Request&) {
    return htmlPage(app.config().wwwDir, "index.html");
}

Response handleSubmitPage(App& app, Request&) {
    return htmlPage(app.config().wwwDir, "submit.html");
}

Response handleBuildPage(App& app, Request& request) {
    const auto& id = request.params.at("id");
    if (!BuildId::parse(id)) {
        return htmlError(404, "'" + id.substr(0, 80) + "' is not a build id (<host>-<number>).");
    }
    // The id is only placed in the page (escaped) for the links that work
    // without JavaScript; whether the build exists the page asks the API.
    return htmlPage(app.config().wwwDir, "build.html", {{"id", id}});
}

Response handleStatic(App& app, Request& request) {
    return staticFile(app.config().wwwDir, request.params.at("name"), request);
}

}  // namespace

void registerWeb(App& app) {
    auto& router = app.router();
    router.add("GET", "/", Access::Read, std::bind_front(handleDashboard, std::ref(app)));
    router.add("GET", "/submit", Access::Read, std::bind_front(handleSubmitPage, std::ref(app)));
    router.add("GET", "/builds/{id}", Access::Read,
               std::bind_front(handleBuildPage, std::ref(app)));
    router.add("GET", "/static/{name}", Access::Read, std::bind_front(handleStatic, std::ref(app)));
}

}  // namespace imagebuild::forwarder
