#include "agent/build_record.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "common/build_id.hpp"
#include "common/build_json.hpp"

namespace imagebuild::agent {

std::string userNameOf(std::uint32_t uid) {
    thread_local std::unordered_map<std::uint32_t, std::string> names;
    if (auto it = names.find(uid); it != names.end()) {
        return it->second;
    }
    std::string name = "uid " + std::to_string(uid);
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 4096);
    struct passwd pw {};
    struct passwd* found = nullptr;
    int rc;
    while ((rc = getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found)) == ERANGE &&
           buffer.size() < (1u << 20)) {
        buffer.resize(buffer.size() * 2);
    }
    if (rc == 0 && found != nullptr && found->pw_name != nullptr && *found->pw_name != '\0') {
        name = found->pw_name;
    }
    names.emplace(uid, name);
    return name;
}

// record.json has a codec of its own, not common/build_json's: it carries what
// only the agent needs (number, cancel_requested, the spec's webhook), and
// reads records of older agents. Its spec keys are the spec codec's
// (common/build_spec.hpp), at the top level, with every key written; the
// kickstart is ks.cfg and "submitter" is the record's own (who submitted,
// from the spec's submitter or the caller's uid).
nlohmann::json recordToJson(const BuildRecord& r) {
    BuildSpec spec = r.spec;
    spec.submitter.reset();
    auto j = specToJson(spec, SpecJson::kEveryKey);
    j.erase("kickstart");
    j.update(nlohmann::json{
        {"id", r.id},
        {"number", r.number},
        {"state", r.state},
        {"result", r.result},
        {"exit_status", r.exitStatus},
        {"reason", r.reason},
        {"unit", r.unit},
        {"submitter_uid", r.submitterUid},
        {"submitter", r.submitter},
        {"submitted_at", r.submittedAt},
        {"started_at", r.startedAt},
        {"finished_at", r.finishedAt},
        {"timeout_usec", r.timeoutUSec},
        {"monitor_url", r.monitorUrl},
        {"artifacts", r.artifacts},
        {"cancel_requested", r.cancelRequested},
        {"pinned", r.pinned},
        {"retry_of", r.retryOf},
        {"failure_class", r.failureClass},
        {"resources", r.resources},
        {"staged_at", r.stagedAt},
        {"attempt", r.attempt},
        {"attempts", r.attempts},
        {"side_packages", r.sidePackages},
        {"stalled_since", r.stalledSince},
        {"cancel_reason", r.cancelReason},
    });
    return j;
}

BuildRecord recordFromJson(const nlohmann::json& j) {
    BuildRecord r;
    j.at("id").get_to(r.id);
    auto id = BuildId::parse(r.id);
    if (!id) {
        throw std::invalid_argument("bad build id \"" + r.id + "\"");
    }
    r.number = id->number;
    // Keys absent (webhook, in records of older agents) keep their defaults.
    readSpecKeys(j, r.spec);
    r.spec.submitter.reset();  // "submitter" is the record's own, below
    r.spec.kickstart.clear();
    j.at("state").get_to(r.state);
    j.at("result").get_to(r.result);
    j.at("exit_status").get_to(r.exitStatus);
    // Records written before the field existed have none.
    r.reason = j.value("reason", std::string());
    j.at("unit").get_to(r.unit);
    j.at("submitter_uid").get_to(r.submitterUid);
    r.submitter = j.value("submitter", std::string());
    if (r.submitter.empty()) {  // records of older agents have none
        r.submitter = userNameOf(r.submitterUid);
    }
    j.at("submitted_at").get_to(r.submittedAt);
    j.at("started_at").get_to(r.startedAt);
    j.at("finished_at").get_to(r.finishedAt);
    j.at("timeout_usec").get_to(r.timeoutUSec);
    j.at("monitor_url").get_to(r.monitorUrl);
    j.at("artifacts").get_to(r.artifacts);
    j.at("cancel_requested").get_to(r.cancelRequested);
    if (auto it = j.find("pinned"); it != j.end()) {  // absent in records of older agents
        it->get_to(r.pinned);
    }
    r.retryOf = j.value("retry_of", std::string());  // absent in records of older agents
    // These too.
    r.failureClass = j.value("failure_class", std::string());
    if (auto it = j.find("resources"); it != j.end() && it->is_object()) {
        it->get_to(r.resources);
    }
    r.stagedAt = j.value("staged_at", std::uint64_t{0});
    r.attempt = j.value("attempt", std::uint32_t{1});
    if (auto it = j.find("attempts"); it != j.end()) {
        it->get_to(r.attempts);
    }
    if (auto it = j.find("side_packages"); it != j.end()) {
        it->get_to(r.sidePackages);
    }
    r.cancelReason = j.value("cancel_reason", std::string());
    r.stalledSince = j.value("stalled_since", std::uint64_t{0});
    const auto& states = allBuildStates();
    if (std::find(states.begin(), states.end(), r.state) == states.end()) {
        throw std::invalid_argument("bad state \"" + r.state + "\"");
    }
    return r;
}

BuildInfo buildInfoOf(const BuildRecord& r) {
    BuildInfo info;
    info.id = r.id;
    if (auto id = BuildId::parse(r.id)) {
        info.host = id->host;
    }
    info.type = r.spec.type;
    info.arch = r.spec.arch;
    info.release = r.spec.release;
    info.name = r.spec.name;
    info.state = r.state;
    info.result = r.result;
    info.exitStatus = r.exitStatus;
    info.reason = r.reason;
    info.unit = r.unit;
    info.submitterUid = r.submitterUid;
    info.submitter = r.submitter;
    info.submittedAt = r.submittedAt;
    info.startedAt = r.startedAt;
    info.finishedAt = r.finishedAt;
    info.timeoutUSec = r.timeoutUSec;
    info.monitorUrl = r.monitorUrl;
    info.labels = r.spec.labels;
    info.notify = r.spec.notify;
    info.artifacts = r.artifacts;
    info.pinned = r.pinned;
    info.retryOf = r.retryOf;
    info.failureClass = r.failureClass;
    info.resources = r.resources;
    info.stagedAt = r.stagedAt;
    info.attempt = r.attempt;
    info.attempts = r.attempts;
    info.priority = r.spec.priority;
    info.stalledSince = r.stalledSince;
    return info;
}

std::string formatOutcome(const UnitOutcome& o) {
    std::ostringstream out;
    out << "SERVICE_RESULT=" << o.serviceResult << "\nEXIT_CODE=" << o.exitCode
        << "\nEXIT_STATUS=" << o.exitStatus << "\nFINISHED_AT=" << o.finishedAt << "\n";
    // Only the figures the host has: a missing line is "not available".
    for (const auto& [name, value] : resourceMapOf(o.resources)) {
        if (name != "wall_usec") {
            out << "RESOURCE_" << name << "=" << value << "\n";
        }
    }
    return out.str();
}

std::optional<UnitOutcome> parseOutcome(std::string_view text) {
    UnitOutcome o;
    std::map<std::string, std::uint64_t> resources;
    bool haveResult = false;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            return std::nullopt;
        }
        auto key = line.substr(0, eq);
        auto value = line.substr(eq + 1);
        if (key == "SERVICE_RESULT") {
            o.serviceResult = value;
            haveResult = !value.empty();
        } else if (key == "EXIT_CODE") {
            o.exitCode = value;
        } else if (key == "EXIT_STATUS") {
            o.exitStatus = value;
        } else if (key == "FINISHED_AT") {
            o.finishedAt = std::strtoull(value.c_str(), nullptr, 10);
        } else if (key.starts_with("RESOURCE_")) {
            resources[key.substr(9)] = std::strtoull(value.c_str(), nullptr, 10);
        }
    }
    if (!haveResult) {
        return std::nullopt;
    }
    resources.erase("wall_usec");
    o.resources = resourceUsageOf(resources);
    return o;
}

namespace {

std::int32_t exitStatusOf(const UnitOutcome& o) {
    if (o.exitCode == "exited") {
        char* end = nullptr;
        long v = std::strtol(o.exitStatus.c_str(), &end, 10);
        return (end && *end == '\0' && !o.exitStatus.empty()) ? static_cast<std::int32_t>(v) : -1;
    }
    if (o.exitCode == "killed" || o.exitCode == "dumped") {
        // systemd passes the signal's name without "SIG" (e.g. TERM).
        for (int sig = 1; sig < NSIG; ++sig) {
            const char* abbrev = sigabbrev_np(sig);
            if (abbrev && o.exitStatus == abbrev) {
                return 128 + sig;
            }
        }
    }
    return -1;
}

}  // namespace

FinalState finalStateOf(const UnitOutcome& o, bool cancelRequested) {
    std::int32_t status = exitStatusOf(o);
    if (cancelRequested) {
        return {state::kCancelled, status};
    }
    if (o.serviceResult == "timeout") {
        return {state::kTimedOut, status};
    }
    if (o.serviceResult == "success" && o.exitCode == "exited" && status == 0) {
        return {state::kSucceeded, status};
    }
    return {state::kFailed, status};
}

}  // namespace imagebuild::agent
