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

void to_json(nlohmann::json& j, const ResourceUsage& usage) {
    j = nlohmann::json::object();
    auto figures = resourceMapOf(usage);
    for (const auto& name :
         {"cpu_usec", "memory_peak_bytes", "io_read_bytes", "io_write_bytes", "wall_usec"}) {
        auto it = figures.find(name);
        j[name] = it == figures.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second);
    }
}

void from_json(const nlohmann::json& j, ResourceUsage& usage) {
    std::map<std::string, std::uint64_t> figures;
    for (const auto& [name, value] : j.items()) {
        if (value.is_number_unsigned()) {
            figures[name] = value.get<std::uint64_t>();
        }
    }
    usage = resourceUsageOf(figures);
}

void to_json(nlohmann::json& j, const BuildAttempt& a) {
    j = nlohmann::json{
        {"attempt", a.attempt}, {"state", a.state},          {"failure_class", a.failureClass},
        {"reason", a.reason},   {"started_at", a.startedAt}, {"finished_at", a.finishedAt}};
}

void from_json(const nlohmann::json& j, BuildAttempt& a) {
    optional(j, "attempt", a.attempt);
    optional(j, "state", a.state);
    optional(j, "failure_class", a.failureClass);
    optional(j, "reason", a.reason);
    optional(j, "started_at", a.startedAt);
    optional(j, "finished_at", a.finishedAt);
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
                       {"failure_class", info.failureClass},
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
    j["resources"] = info.resources;
    j["staged_at"] = info.stagedAt;
    j["attempt"] = info.attempt;
    j["attempts"] = info.attempts;
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
    optional(j, "failure_class", info.failureClass);
    optional(j, "resources", info.resources);
    optional(j, "staged_at", info.stagedAt);
    optional(j, "attempt", info.attempt);
    optional(j, "attempts", info.attempts);
    optional(j, "priority", info.priority);
    optional(j, "stalled_since", info.stalledSince);
    info.listRow = !j.contains("artifacts");
}

}  // namespace imagebuild
