// The fleet's host records, asked for now: the local agent over D-Bus and every
// healthy peer over HTTP (GET /v1/hosts?scope=local). Down peers appear with
// their last known capabilities and healthy=false.
#pragma once

#include <optional>
#include <vector>

#include "forwarder/host_info.hpp"

namespace imagebuild::forwarder {

class App;

// nullopt if the local agent cannot be reached.
std::optional<HostInfo> localHost(App& app);
std::vector<HostInfo> fleetHosts(App& app);

}  // namespace imagebuild::forwarder
