// POST /v1/builds bodies: a JSON object with the keys of BuildManager1.Submit,
// read into a BuildSpec by the one spec codec (common/build_spec.hpp) and
// sent on to the agent with specToVariants.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/build_spec.hpp"

namespace imagebuild::forwarder {

// Throws imagebuild::SpecError naming the key and what was expected.
BuildSpec parseSubmitBody(const std::string& body);

// D-Bus strings end at a NUL: "\u0000" in any string would silently cut
// the kickstart, a name or a label short on its way to the agent. Throws
// SpecError naming where ("'labels'['k'] holds a NUL character").
void refuseNul(const nlohmann::json& spec);

}  // namespace imagebuild::forwarder
