// Everything the transient unit of one build is made of, as plain data:
// computed from the build, its image type and the host's config, so the
// mapping can be tested without systemd. unit_client.cpp turns it into
// StartTransientUnit's a(sv).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/build_record.hpp"
#include "agent/state_store.hpp"
#include "common/config.hpp"

namespace imagebuild::agent {

struct UnitSettings {
    std::string unitName;  // imagebuild-<id>.service
    std::string description;
    std::string slice = "imagebuild.slice";
    std::vector<std::string> execStart;     // argv; [0] is an absolute path
    std::vector<std::string> execStopPost;  // the outcome recorder
    std::string workingDirectory;
    std::vector<std::string> environment;     // KEY=VALUE
    std::vector<std::string> logExtraFields;  // KEY=VALUE
    std::uint64_t runtimeMaxUSec = 0;
    std::optional<std::uint64_t> memoryMax;
    std::optional<std::uint64_t> cpuQuotaPerSecUSec;
    std::optional<std::uint64_t> tasksMax;
    bool strictSandbox = false;
    std::vector<std::string> readWritePaths;  // only with strictSandbox
};

std::string unitNameOf(const std::string& id);

// recorder: absolute path of imagebuild-record-result. Throws
// std::runtime_error if the type's program is not installed.
UnitSettings unitSettingsFor(const BuildRecord& record, const ImageType& type,
                             const HostConfig& host, const StateStore& store,
                             const std::string& recorder);

}  // namespace imagebuild::agent
