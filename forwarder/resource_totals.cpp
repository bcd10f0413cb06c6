#include "forwarder/resource_totals.hpp"

#include <set>

namespace imagebuild::forwarder {

namespace {

void addFigure(ResourceTotals& totals, const std::string& type, const char* resource,
               const std::optional<std::uint64_t>& value, double scale) {
    auto& total = totals[{type, resource}];
    if (value) {
        total.sum += static_cast<double>(*value) * scale;
        ++total.builds;
    }
}

}  // namespace

void addResources(ResourceTotals& totals, const std::string& type, const ResourceUsage& usage) {
    addFigure(totals, type, "cpu_seconds", usage.cpuUsec, 1e-6);
    addFigure(totals, type, "wall_seconds", usage.wallUsec, 1e-6);
    addFigure(totals, type, "memory_peak_bytes", usage.memoryPeakBytes, 1);
    addFigure(totals, type, "io_read_bytes", usage.ioReadBytes, 1);
    addFigure(totals, type, "io_write_bytes", usage.ioWriteBytes, 1);
}

ResourceTotals ResourceRecords::totals(const std::vector<Ended>& ended, const Fetch& fetch) {
    std::lock_guard lock(mutex_);  // one scrape at a time fills the cache
    std::set<std::string> listed;
    ResourceTotals totals;
    for (const auto& build : ended) {
        listed.insert(build.id);
        auto known = known_.find(build.id);
        if (known == known_.end()) {
            std::optional<ResourceUsage> usage;
            try {
                usage = fetch(build.id);
            } catch (const std::exception&) {
                // gone between the list and the ask, or the agent busy: next time
            }
            if (!usage) {
                continue;
            }
            known = known_.emplace(build.id, std::make_pair(build.type, *usage)).first;
        }
        addResources(totals, known->second.first, known->second.second);
    }
    std::erase_if(known_, [&](const auto& entry) { return listed.count(entry.first) == 0; });
    return totals;
}

}  // namespace imagebuild::forwarder
