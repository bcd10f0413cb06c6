#include "common/build_info.hpp"

#include <algorithm>

#include "common/build_id.hpp"

namespace imagebuild {

namespace {

template <typename T>
void take(const std::map<std::string, sdbus::Variant>& properties, const char* key, T& out) {
    auto it = properties.find(key);
    if (it != properties.end() && it->second.containsValueOfType<T>()) {
        out = it->second.get<T>();
    }
}

using ArtifactTuple = sdbus::Struct<std::string, std::string, std::uint64_t, std::string>;

}  // namespace

BuildInfo buildInfoFromProperties(const std::map<std::string, sdbus::Variant>& properties) {
    BuildInfo info;
    take(properties, "Id", info.id);
    take(properties, "Type", info.type);
    take(properties, "Arch", info.arch);
    take(properties, "Release", info.release);
    take(properties, "Name", info.name);
    take(properties, "State", info.state);
    take(properties, "Result", info.result);
    take(properties, "ExitStatus", info.exitStatus);
    take(properties, "Reason", info.reason);
    take(properties, "Unit", info.unit);
    take(properties, "SubmitterUid", info.submitterUid);
    take(properties, "Submitter", info.submitter);
    take(properties, "SubmittedAt", info.submittedAt);
    take(properties, "StartedAt", info.startedAt);
    take(properties, "FinishedAt", info.finishedAt);
    take(properties, "TimeoutUSec", info.timeoutUSec);
    take(properties, "MonitorUrl", info.monitorUrl);
    take(properties, "Labels", info.labels);
    take(properties, "Notify", info.notify);
    take(properties, "Pinned", info.pinned);
    take(properties, "RetryOf", info.retryOf);
    std::vector<ArtifactTuple> artifacts;
    take(properties, "Artifacts", artifacts);
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
