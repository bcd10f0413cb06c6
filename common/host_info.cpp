#include "common/host_info.hpp"

#include "common/dbus_properties.hpp"

namespace imagebuild {

HostInfo hostInfoFromProperties(const std::map<std::string, sdbus::Variant>& properties) {
    HostInfo info;
    takeProperty(properties, "Hostname", info.hostname);
    takeProperty(properties, "Arches", info.arches);
    takeProperty(properties, "Releases", info.releases);
    takeProperty(properties, "ImageTypes", info.imageTypes);
    takeProperty(properties, "Running", info.running);
    takeProperty(properties, "Queued", info.queued);
    takeProperty(properties, "MaxParallel", info.maxParallel);
    return info;
}

void to_json(nlohmann::json& j, const HostInfo& host) {
    j = nlohmann::json{{"hostname", host.hostname},
                       {"url", host.url},
                       {"arches", host.arches},
                       {"releases", host.releases},
                       {"image_types", host.imageTypes},
                       {"running", host.running},
                       {"queued", host.queued},
                       {"max_parallel", host.maxParallel},
                       {"healthy", host.healthy},
                       {"status", host.status},
                       {"error", host.error},
                       {"last_seen", host.lastSeen}};
}

void from_json(const nlohmann::json& j, HostInfo& host) {
    host.hostname = j.value("hostname", "");
    host.url = j.value("url", "");
    host.arches = j.value("arches", std::vector<std::string>{});
    host.releases = j.value("releases", std::vector<std::string>{});
    host.imageTypes = j.value("image_types", std::vector<std::string>{});
    host.running = j.value("running", 0u);
    host.queued = j.value("queued", 0u);
    host.maxParallel = j.value("max_parallel", 0u);
    host.healthy = j.value("healthy", false);
    // A forwarder older than `status` said only healthy or not.
    host.status = j.value("status", host.healthy ? "up" : "down");
    host.error = j.value("error", "");
    host.lastSeen = j.value("last_seen", std::uint64_t{0});
}

}  // namespace imagebuild
