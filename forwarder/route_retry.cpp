// POST /v1/builds/{id}/retry: a new build with the spec of build id
// (BuildManager1.Retry), on the host that owns id, like DELETE. The token
// rule is cancel's: an admin token may retry any build, another token only
// its own. The new build is the token's (submitter: its name). 201 with the
// new build's JSON (retry_of set) and its Location.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/build_json.hpp"
#include "forwarder/app.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

Response handleRetryPost(App& app, Request& request) {
    return forBuild(app, request, [&](const std::string& id) {
        if (auto refused = refuseChange(request, app.agent().get(id), getuid(), "retry")) {
            return *refused;
        }
        // In the token's name, as a submission is: the agent sees only this
        // forwarder's uid.
        auto build = app.agent().get(app.agent().retry(id, request.identity));
        auto response = jsonResponse(201, nlohmann::json(build).dump());
        response.headers.emplace_back("Location", "/v1/builds/" + build.id);
        return response;
    });
}

}  // namespace

void registerRetry(App& app) {
    app.router().add("POST", "/v1/builds/{id}/retry", Access::Write,
                     std::bind_front(handleRetryPost, std::ref(app)));
}

}  // namespace imagebuild::forwarder
