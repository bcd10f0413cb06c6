// Where a new build goes: a healthy host that serves its (type, arch,
// release), least loaded first. A host with no releases builds any release
// (as its agent's [host] releases= documents). Pure: the unit tests drive it with HostInfos.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "forwarder/host_info.hpp"

namespace imagebuild::forwarder {

bool serves(const HostInfo& host, const std::string& type, const std::string& arch,
            const std::string& release);

// Healthy hosts that serve the triple, least loaded first ((running + queued)
// per parallel slot, then fewer queued, then hostname for a stable order).
std::vector<HostInfo> placementCandidates(const std::vector<HostInfo>& hosts,
                                          const std::string& type, const std::string& arch,
                                          const std::string& release);

// What the fleet builds, for a 422: [{"hostname", "healthy", "status", "image_types",
// "arches", "releases"}], one entry per host.
nlohmann::json fleetOffer(const std::vector<HostInfo>& hosts);

}  // namespace imagebuild::forwarder
