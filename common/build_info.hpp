// What any client knows about one build: the Build1 object's properties,
// as a plain struct. The JSON shape (build_json.hpp) is the HTTP API's and
// `imagebuildctl --json`'s; both are filled from the D-Bus properties here.
#pragma once

#include <sdbus-c++/Types.h>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace imagebuild {

struct Artifact {
    std::string name;
    std::string path;
    std::uint64_t size = 0;
    std::string sha256;  // empty if not computed
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
    bool pinned = false;        // kept by the host's cleanup whatever its age
    std::string retryOf;        // the build this one re-runs (Build1.RetryOf); empty if none
    std::int32_t priority = 0;  // queue order, higher first; 0 normal (Build1.Priority)
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
// finished_at, path, retry_of, priority, stalled_since (added last, so
// positional readers of the older row keep their columns).
using BuildListRow =
    sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string,
                  std::string, std::string, std::uint32_t, std::uint64_t, std::uint64_t,
                  std::uint64_t, sdbus::ObjectPath, std::string, std::int32_t, std::uint64_t>;
BuildInfo buildInfoFromListRow(const BuildListRow& row);

// The states a build can be in, in lifecycle order.
const std::vector<std::string>& allBuildStates();
bool isFinalState(const std::string& state);

}  // namespace imagebuild
