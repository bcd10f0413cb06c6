// GET /v1/health: this forwarder answers. Cheap on purpose (no agent call):
// peers ask it every few seconds and must not keep the agent from idling;
// answered on the gate's loop, without a thread (loop_answer.hpp).
#include <nlohmann/json.hpp>

#include "forwarder/app.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/routes.hpp"
#include "imagebuild_config.h"

namespace imagebuild::forwarder {

namespace {

// The answer never changes: made once, at registration.
Response handleHealthGet(const std::string& body, Request&) {
    return jsonResponse(200, body);
}

}  // namespace

void registerHealth(App& app) {
    nlohmann::json body{{"status", "ok"},
                        {"hostname", app.hostname()},
                        {"url", app.publicUrl()},
                        {"version", IMAGEBUILD_VERSION}};
    app.router().addOnLoop("GET", "/v1/health", Access::Read,
                           std::bind_front(handleHealthGet, body.dump()));
}

}  // namespace imagebuild::forwarder
