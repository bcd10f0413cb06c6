#include "common/build_info.hpp"

#include <algorithm>

#include "common/build_id.hpp"
#include "common/dbus_properties.hpp"

namespace imagebuild {

namespace {

using ArtifactTuple = sdbus::Struct<std::string, std::string, std::uint64_t, std::string>;

}  // namespace

BuildInfo buildInfoFromProperties(const std::map<std::string, sdbus::Variant>& properties) {
    BuildInfo info;
    takeProperty(properties, "Id", info.id);
    takeProperty(properties, "Type", info.type);
    takeProperty(properties, "Arch", info.arch);
    takeProperty(properties, "Release", info.release);
    takeProperty(properties, "Name", info.name);
    takeProperty(properties, "State", info.state);
    takeProperty(properties, "Result", info.result);
    takeProperty(properties, "ExitStatus", info.exitStatus);
    takeProperty(properties, "Reason", info.reason);
    takeProperty(properties, "Unit", info.unit);
    takeProperty(properties, "SubmitterUid", info.submitterUid);
    takeProperty(properties, "Submitter", info.submitter);
    takeProperty(properties, "SubmittedAt", info.submittedAt);
    takeProperty(properties, "StartedAt", info.startedAt);
    takeProperty(properties, "FinishedAt", info.finishedAt);
    takeProperty(properties, "TimeoutUSec", info.timeoutUSec);
    takeProperty(properties, "MonitorUrl", info.monitorUrl);
    takeProperty(properties, "Labels", info.labels);
    takeProperty(properties, "Notify", info.notify);
    takeProperty(properties, "Pinned", info.pinned);
    takeProperty(properties, "RetryOf", info.retryOf);
    takeProperty(properties, "FailureClass", info.failureClass);
    takeProperty(properties, "StagedAt", info.stagedAt);
    takeProperty(properties, "Attempt", info.attempt);
    std::map<std::string, std::uint64_t> resources;
    takeProperty(properties, "Resources", resources);
    info.resources = resourceUsageOf(resources);
    std::vector<BuildAttemptTuple> attempts;
    takeProperty(properties, "Attempts", attempts);
    for (const auto& a : attempts) {
        info.attempts.push_back(
            {a.get<0>(), a.get<1>(), a.get<2>(), a.get<3>(), a.get<4>(), a.get<5>()});
    }
    takeProperty(properties, "Priority", info.priority);
    takeProperty(properties, "StalledSince", info.stalledSince);
    std::vector<ArtifactTuple> artifacts;
    takeProperty(properties, "Artifacts", artifacts);
    for (const auto& a : artifacts) {
        info.artifacts.push_back({a.get<0>(), a.get<1>(), a.get<2>(), a.get<3>()});
    }
    if (auto id = BuildId::parse(info.id)) {
        info.host = id->host;
    }
    return info;
}

BuildInfo buildInfoFromListRow(const BuildListRow& row) {
    BuildInfo info;
    info.id = row.get<0>();
    info.type = row.get<1>();
    info.arch = row.get<2>();
    info.release = row.get<3>();
    info.name = row.get<4>();
    info.submitter = row.get<5>();
    info.state = row.get<6>();
    info.result = row.get<7>();
    info.submitterUid = row.get<8>();
    info.submittedAt = row.get<9>();
    info.startedAt = row.get<10>();
    info.finishedAt = row.get<11>();
    info.retryOf = row.get<13>();
    info.failureClass = row.get<14>();
    info.priority = row.get<15>();
    info.stalledSince = row.get<16>();
    info.listRow = true;
    if (auto id = BuildId::parse(info.id)) {
        info.host = id->host;
    }
    return info;
}

BuildAttemptTuple toTuple(const BuildAttempt& a) {
    return {a.attempt, a.state, a.failureClass, a.reason, a.startedAt, a.finishedAt};
}

namespace {

// The JSON names of ResourceUsage's figures, for the map and the JSON.
const std::vector<std::pair<const char*, std::optional<std::uint64_t> ResourceUsage::*>>&
resourceFields() {
    static const std::vector<std::pair<const char*, std::optional<std::uint64_t> ResourceUsage::*>>
        fields{{"cpu_usec", &ResourceUsage::cpuUsec},
               {"memory_peak_bytes", &ResourceUsage::memoryPeakBytes},
               {"io_read_bytes", &ResourceUsage::ioReadBytes},
               {"io_write_bytes", &ResourceUsage::ioWriteBytes},
               {"wall_usec", &ResourceUsage::wallUsec}};
    return fields;
}

}  // namespace

std::map<std::string, std::uint64_t> resourceMapOf(const ResourceUsage& usage) {
    std::map<std::string, std::uint64_t> figures;
    for (const auto& [name, member] : resourceFields()) {
        if (const auto& value = usage.*member) {
            figures[name] = *value;
        }
    }
    return figures;
}

ResourceUsage resourceUsageOf(const std::map<std::string, std::uint64_t>& figures) {
    ResourceUsage usage;
    for (const auto& [name, member] : resourceFields()) {
        if (auto it = figures.find(name); it != figures.end()) {
            usage.*member = it->second;
        }
    }
    return usage;
}

const std::vector<std::string>& allBuildStates() {
    static const std::vector<std::string> states{"queued", "running",   "succeeded",
                                                 "failed", "cancelled", "timed-out"};
    return states;
}

bool isFinalState(const std::string& state) {
    return state == "succeeded" || state == "failed" || state == "cancelled" ||
           state == "timed-out";
}

}  // namespace imagebuild
