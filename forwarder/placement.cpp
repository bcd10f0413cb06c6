#include "forwarder/placement.hpp"

#include <algorithm>
#include <tuple>

namespace imagebuild::forwarder {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

double load(const HostInfo& host) {
    return static_cast<double>(host.running + host.queued) / std::max(host.maxParallel, 1u);
}

}  // namespace

bool serves(const HostInfo& host, const std::string& type, const std::string& arch,
            const std::string& release) {
    // No releases configured means the host builds any release.
    return contains(host.imageTypes, type) && contains(host.arches, arch) &&
           (host.releases.empty() || contains(host.releases, release));
}

std::vector<HostInfo> placementCandidates(const std::vector<HostInfo>& hosts,
                                          const std::string& type, const std::string& arch,
                                          const std::string& release) {
    std::vector<HostInfo> out;
    std::copy_if(hosts.begin(), hosts.end(), std::back_inserter(out),
                 [&](const HostInfo& h) { return h.healthy && serves(h, type, arch, release); });
    std::stable_sort(out.begin(), out.end(), [](const HostInfo& a, const HostInfo& b) {
        return std::make_tuple(load(a), a.queued, a.hostname) <
               std::make_tuple(load(b), b.queued, b.hostname);
    });
    return out;
}

nlohmann::json fleetOffer(const std::vector<HostInfo>& hosts) {
    auto offer = nlohmann::json::array();
    for (const auto& h : hosts) {
        offer.push_back({{"hostname", h.hostname},
                         {"healthy", h.healthy},
                         {"status", h.status},
                         {"image_types", h.imageTypes},
                         {"arches", h.arches},
                         {"releases", h.releases}});
    }
    return offer;
}

}  // namespace imagebuild::forwarder
