// The JSON shape of a build record, shared by the forwarder's HTTP API and
// `imagebuildctl --json`:
//   {"id", "host", "type", "arch", "release", "name", "state", "result",
//    "exit_status", "unit", "submitter_uid", "submitter", "submitted_at",
//    "started_at", "finished_at", "timeout_usec", "monitor_url", "labels": {k: v},
//    "notify": [addr], "artifacts": [{"name", "path", "size", "sha256"}],
//    "failure_class": "" | build | infra | timeout | cancelled,
//    "resources": {"cpu_usec", "memory_peak_bytes", "io_read_bytes",
//                  "io_write_bytes", "wall_usec"} (each a number, or null
//                  when this host cannot tell), "staged_at",
//    "attempt": n, "attempts": [{"attempt", "state", "failure_class",
//                                "reason", "started_at", "finished_at"}]}
// Times are integers, usec since the epoch, 0 while they have not happened.
// A list row (BuildInfo::listRow) has only the keys a ListBuilds row carries:
// "id", "host", "type", "arch", "release", "name", "state", "result",
// "submitter_uid", "submitter", "submitted_at", "started_at", "finished_at",
// "retry_of", "failure_class"; the others are left out rather than shown with values it does
// not have. Every producer of a build's JSON goes through to_json here.
#pragma once

#include <nlohmann/json.hpp>

#include "common/build_info.hpp"

namespace imagebuild {

void to_json(nlohmann::json& j, const Artifact& artifact);
void from_json(const nlohmann::json& j, Artifact& artifact);
void to_json(nlohmann::json& j, const ResourceUsage& usage);
void from_json(const nlohmann::json& j, ResourceUsage& usage);
void to_json(nlohmann::json& j, const BuildAttempt& attempt);
void from_json(const nlohmann::json& j, BuildAttempt& attempt);
void to_json(nlohmann::json& j, const BuildInfo& info);
// Missing keys keep their defaults; a key of the wrong type throws
// nlohmann::json::type_error naming it. Without "artifacts" it is a list row.
void from_json(const nlohmann::json& j, BuildInfo& info);

}  // namespace imagebuild
