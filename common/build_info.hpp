// What any client knows about one build: the Build1 object's properties,
// as a plain struct. The JSON shape (build_json.hpp) is the HTTP API's and
// `imagebuildctl --json`'s; both are filled from the D-Bus properties here.
#pragma once

#include <sdbus-c++/Types.h>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imagebuild {

struct Artifact {
    std::string name;
    std::string path;
    std::uint64_t size = 0;
    std::string sha256;  // empty if not computed
};

// Why a build that did not succeed ended so (Build1.FailureClass, JSON
// "failure_class"); empty for a build that did not fail.
namespace failure_class {
inline constexpr const char* kBuild = "build";          // its program exited non-zero
inline constexpr const char* kInfra = "infra";          // the host: OOM kill, lost, signal, ...
inline constexpr const char* kTimeout = "timeout";      // it ran out of time
inline constexpr const char* kCancelled = "cancelled";  // someone cancelled it
}  // namespace failure_class

// What a build's unit used, from its cgroup as it ended (Build1.Resources,
// JSON "resources"). nullopt: this host cannot tell (no such controller, or
// the unit's cgroup was gone), never 0.
struct ResourceUsage {
    std::optional<std::uint64_t> cpuUsec;
    std::optional<std::uint64_t> memoryPeakBytes;
    std::optional<std::uint64_t> ioReadBytes;
    std::optional<std::uint64_t> ioWriteBytes;
    std::optional<std::uint64_t> wallUsec;

    bool operator==(const ResourceUsage&) const = default;
};

// An earlier attempt of a build a type's `retry = infra:N` ran again
// (Build1.Attempts, JSON "attempts").
struct BuildAttempt {
    std::uint32_t attempt = 0;  // 1, 2, ...
    std::string state;
    std::string failureClass;
    std::string reason;
    std::uint64_t startedAt = 0;
    std::uint64_t finishedAt = 0;

    bool operator==(const BuildAttempt&) const = default;
};

struct BuildInfo {
    std::string id;
    std::string host;  // the host part of the id: who owns the build
    std::string type;
    std::string arch;
    std::string release;
    std::string name;
    std::string state;   // queued, running, succeeded, failed, cancelled, timed-out
    std::string result;  // empty until the build ends
    std::int32_t exitStatus = -1;
    std::string reason;  // why it failed, when its log cannot say (Build1.Reason)
    std::string unit;
    std::uint32_t submitterUid = 0;
    // Who submitted it, as a person reads it (Build1.Submitter): a user name,
    // "uid N", or the name an HTTP token has. Empty from agents older than that.
    std::string submitter;
    std::uint64_t submittedAt = 0;  // usec since the epoch; 0 = not yet
    std::uint64_t startedAt = 0;
    std::uint64_t finishedAt = 0;
    std::uint64_t timeoutUSec = 0;
    std::string monitorUrl;
    std::map<std::string, std::string> labels;
    std::vector<std::string> notify;
    std::vector<Artifact> artifacts;
    bool pinned = false;       // kept by the host's cleanup whatever its age
    std::string retryOf;       // the build this one re-runs (Build1.RetryOf); empty if none
    std::string failureClass;  // failure_class::*; empty unless it failed
    ResourceUsage resources;
    std::uint64_t stagedAt = 0;          // usec since the epoch its end-of-build step staged it
    std::uint32_t attempt = 1;           // the attempt running, or the last one
    std::vector<BuildAttempt> attempts;  // the earlier attempts, oldest first
    std::int32_t priority = 0;           // queue order, higher first; 0 normal (Build1.Priority)
    // When its log last fell silent for the type's stall_timeout, usec since
    // the epoch; 0 when not stalled (Build1.StalledSince).
    std::uint64_t stalledSince = 0;
    // A row of a list (ListBuilds, GET /v1/builds): only the row's fields are
    // known; the others hold defaults that must not be shown as facts.
    bool listRow = false;

    bool finished() const { return finishedAt != 0 || !result.empty(); }
    bool stalled() const { return stalledSince != 0; }
};

// From org.freedesktop.DBus.Properties.GetAll("org.imagebuild.Build1").
// Unknown properties are ignored, missing ones keep their defaults, so a
// newer agent never breaks an older client.
BuildInfo buildInfoFromProperties(const std::map<std::string, sdbus::Variant>& properties);

// One row of BuildManager1.ListBuilds: id, type, arch, release, name,
// submitter, state, result, submitter_uid, submitted_at, started_at,
// finished_at, path, retry_of, failure_class, priority, stalled_since (each added last, so
// positional readers of the older row keep their columns).
using BuildListRow = sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                                   std::string, std::string, std::string, std::uint32_t,
                                   std::uint64_t, std::uint64_t, std::uint64_t, sdbus::ObjectPath,
                                   std::string, std::string, std::int32_t, std::uint64_t>;

// Build1.Attempts' element: attempt, state, failure_class, reason,
// started_at, finished_at.
using BuildAttemptTuple = sdbus::Struct<std::uint32_t, std::string, std::string, std::string,
                                        std::uint64_t, std::uint64_t>;
BuildAttemptTuple toTuple(const BuildAttempt& attempt);
// Build1.Resources: the figures this host has, by JSON name ("cpu_usec",
// ...); one it lacks is left out.
std::map<std::string, std::uint64_t> resourceMapOf(const ResourceUsage& usage);
ResourceUsage resourceUsageOf(const std::map<std::string, std::uint64_t>& figures);
BuildInfo buildInfoFromListRow(const BuildListRow& row);

// The states a build can be in, in lifecycle order.
const std::vector<std::string>& allBuildStates();
bool isFinalState(const std::string& state);

}  // namespace imagebuild
