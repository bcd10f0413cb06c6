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
    info.priority = row.get<14>();
    info.stalledSince = row.get<15>();
    info.listRow = true;
    if (auto id = BuildId::parse(info.id)) {
        info.host = id->host;
    }
    return info;
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
