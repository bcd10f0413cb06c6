// The resource record of this host's ended builds (Build1.Resources), added
// up per type for GET /metrics. The label sets stay bounded: a type (the
// host's configured ones, and those of records still kept) times the five
// figures, never a series per build.
//
// A list row carries no resources, so each ended build's record is asked of
// the agent once and kept (it never changes once the build has ended);
// ids the agent no longer lists (removed by retention) are forgotten, and
// their figures leave the totals with them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/build_info.hpp"

namespace imagebuild::forwarder {

// One figure over the builds of a type: the sum over those whose host
// measured it, and how many did (0: not available on this host).
struct ResourceTotal {
    double sum = 0;
    std::uint64_t builds = 0;
};
// (type, resource) -> total; resource: cpu_seconds, wall_seconds,
// memory_peak_bytes, io_read_bytes, io_write_bytes.
using ResourceTotals = std::map<std::pair<std::string, std::string>, ResourceTotal>;

// Adds one build's record: each figure it has to its sum and count; every
// figure of the type appears, counted or not.
void addResources(ResourceTotals& totals, const std::string& type, const ResourceUsage& usage);

class ResourceRecords {
public:
    struct Ended {
        std::string id;
        std::string type;
    };
    // Asks for one build's record; nullopt (or a throw) when it cannot be
    // had now: asked again next time.
    using Fetch = std::function<std::optional<ResourceUsage>(const std::string& id)>;

    // The totals over `ended`, fetching only the records not known yet.
    ResourceTotals totals(const std::vector<Ended>& ended, const Fetch& fetch);

private:
    std::mutex mutex_;
    std::map<std::string, std::pair<std::string, ResourceUsage>> known_;  // id -> (type, record)
};

}  // namespace imagebuild::forwarder
