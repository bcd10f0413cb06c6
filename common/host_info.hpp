// One build host as GET /v1/hosts shows it, shared by the forwarder (which
// serves it) and imagebuildctl (which prints it):
//   {"hostname", "url", "arches", "releases", "image_types", "running",
//    "queued", "max_parallel", "healthy", "status", "error", "last_seen"}
// status: "up", "down" (error says why) or "unknown" (not yet asked);
// healthy is status == "up". last_seen: usec since the epoch of the last
// answer, 0 = never.
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace imagebuild {

struct HostInfo {
    std::string hostname;
    std::string url;
    std::vector<std::string> arches;
    std::vector<std::string> releases;
    std::vector<std::string> imageTypes;
    std::uint32_t running = 0;
    std::uint32_t queued = 0;
    std::uint32_t maxParallel = 0;
    bool healthy = false;
    std::string status = "unknown";
    std::string error;
    std::uint64_t lastSeen = 0;
};

// From org.freedesktop.DBus.Properties.GetAll("org.imagebuild.BuildManager1"):
// what the agent says of itself (url, status and health are the caller's).
HostInfo hostInfoFromProperties(const std::map<std::string, sdbus::Variant>& properties);

void to_json(nlohmann::json& j, const HostInfo& host);
// Missing keys keep their defaults.
void from_json(const nlohmann::json& j, HostInfo& host);

}  // namespace imagebuild
