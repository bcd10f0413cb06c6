// The fleet's host records, asked for now: the local agent over D-Bus and every
// healthy peer over HTTP (GET /v1/hosts?scope=local). Other peers appear with
// their last known capabilities, healthy=false and status "down" (with the
// error) or "unknown" (not probed yet).
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
