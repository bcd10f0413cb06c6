#include "common/build_json.hpp"

namespace imagebuild {

namespace {

template <typename T>
void optional(const nlohmann::json& j, const char* key, T& out) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) {
        it->get_to(out);
    }
}

}  // namespace

void to_json(nlohmann::json& j, const Artifact& artifact) {
    j = nlohmann::json{{"name", artifact.name},
                       {"path", artifact.path},
                       {"size", artifact.size},
                       {"sha256", artifact.sha256}};
}

void from_json(const nlohmann::json& j, Artifact& artifact) {
    optional(j, "name", artifact.name);
    optional(j, "path", artifact.path);
    optional(j, "size", artifact.size);
    optional(j, "sha256", artifact.sha256);
}

void to_json(nlohmann::json& j, const BuildInfo& info) {
    j = nlohmann::json{{"id", info.id},
                       {"host", info.host},
                       {"type", info.type},
                       {"arch", info.arch},
                       {"release", info.release},
                       {"name", info.name},
                       {"state", info.state},
                       {"result", info.result},
                       {"submitter_uid", info.submitterUid},
                       {"submitter", info.submitter},
                       {"submitted_at", info.submittedAt},
                       {"started_at", info.startedAt},
                       {"finished_at", info.finishedAt},
                       {"retry_of", info.retryOf},
                       {"priority", info.priority},
                       {"stalled", info.stalled()},
                       {"stalled_since", info.stalledSince}};
    if (info.listRow) {
        return;
    }
    j["exit_status"] = info.exitStatus;
    j["reason"] = info.reason;
    j["unit"] = info.unit;
    j["timeout_usec"] = info.timeoutUSec;
    j["monitor_url"] = info.monitorUrl;
    j["labels"] = info.labels;
    j["notify"] = info.notify;
    j["artifacts"] = info.artifacts;
    j["pinned"] = info.pinned;
}

void from_json(const nlohmann::json& j, BuildInfo& info) {
    optional(j, "id", info.id);
    optional(j, "host", info.host);
    optional(j, "type", info.type);
    optional(j, "arch", info.arch);
    optional(j, "release", info.release);
    optional(j, "name", info.name);
    optional(j, "state", info.state);
    optional(j, "result", info.result);
    optional(j, "exit_status", info.exitStatus);
    optional(j, "reason", info.reason);
    optional(j, "unit", info.unit);
    optional(j, "submitter_uid", info.submitterUid);
    optional(j, "submitter", info.submitter);
    optional(j, "submitted_at", info.submittedAt);
    optional(j, "started_at", info.startedAt);
    optional(j, "finished_at", info.finishedAt);
    optional(j, "timeout_usec", info.timeoutUSec);
    optional(j, "monitor_url", info.monitorUrl);
    optional(j, "labels", info.labels);
    optional(j, "notify", info.notify);
    optional(j, "artifacts", info.artifacts);
    optional(j, "pinned", info.pinned);
    optional(j, "retry_of", info.retryOf);
    optional(j, "priority", info.priority);
    optional(j, "stalled_since", info.stalledSince);
    info.listRow = !j.contains("artifacts");
}

}  // namespace imagebuild
