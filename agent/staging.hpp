// Staging: what a build leaves behind, in <build dir>/artifacts/ — the image
// files its type declares, ks.cfg (the flattened kickstart used), build.log
// (every journal line of the build), manifest.json and SHA256SUMS — and an
// optional copy of all of it in a second place (an NFS mount, say).
//
// Runs at the end of the build's unit (ExecStopPost=), without the agent. A
// failed build still stages ks.cfg, build.log and manifest.json. Nothing
// here throws: each failure becomes a problem that names the file, and the
// build's result never depends on staging.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/build_record.hpp"

namespace imagebuild::agent {

struct StagingOptions {
    std::vector<std::string> artifactPatterns;  // the image type's globs under out/
    std::vector<std::string> tools;             // the image type's programs, for versions
    std::filesystem::path copyTo;               // [staging] copy_to=; empty: no copy
    std::string host;
};

struct StagingResult {
    std::filesystem::path dir;          // <build dir>/artifacts
    std::vector<Artifact> files;        // all staged files, with size and sha256
    std::vector<std::string> problems;  // each a sentence naming the file
    std::uint64_t stagedAt = 0;         // usec since the epoch; 0 from older files
};

// record: the build as it ended (state, result and finishedAt already set).
StagingResult stageBuild(const std::filesystem::path& buildDir, const BuildRecord& record,
                         const StagingOptions& options);

// The result of staging is kept in <build dir>/staging.json: a retry reads
// it instead of staging again, and the agent takes the artifact list from it.
void saveStagingResult(const std::filesystem::path& buildDir, const StagingResult& result);
// nullopt if the build was not staged (or the record is unreadable).
std::optional<StagingResult> loadStagingResult(const std::filesystem::path& buildDir);

// The files under outDir whose path relative to it matches one of the
// globs, sorted by name; name = the relative path.
std::vector<Artifact> findArtifacts(const std::filesystem::path& outDir,
                                    const std::vector<std::string>& patterns);

// The first line `program --version` (or `-version`) prints, or "" if it
// prints none within a few seconds. Never through a shell.
std::string toolVersion(const std::string& program);

}  // namespace imagebuild::agent
