// The agent's state on disk (StateDirectory=imagebuild, /var/lib/imagebuild):
//
//   next-id                     the last build number handed out
//   index                       a summary line per finished build
//                               (build_index.hpp): a cache of the records
//   pending/<id>                one empty file per queued or running build;
//                               imagebuild-resume.service starts the agent
//                               at boot when this directory is not empty
//   builds/<id>/record.json     the build's record (build_record.hpp)
//   builds/<id>/ks.cfg          the submitted kickstart
//   builds/<id>/started         empty; created before its unit is started
//   builds/<id>/outcome         written by the unit's ExecStopPost= recorder
//   builds/<id>/out/            {outdir}: the artifacts
//   builds/<id>/work/           {workdir}: scratch space
//   builds/<id>/repo/           its side repository, if any (side_repo.hpp)
//   uploads/side-*/             side repositories being made, before their
//                               build exists
//
// Every file is written atomically; a corrupt record is skipped and
// reported, never fatal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/build_record.hpp"
#include "common/atomic_file.hpp"

namespace imagebuild::agent {

class StateStore {
public:
    explicit StateStore(std::filesystem::path root);

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path buildDir(const std::string& id) const;
    std::filesystem::path outDir(const std::string& id) const { return buildDir(id) / "out"; }
    std::filesystem::path workDir(const std::string& id) const { return buildDir(id) / "work"; }
    std::filesystem::path kickstartPath(const std::string& id) const {
        return buildDir(id) / "ks.cfg";
    }

    // The next build number, persisted before it is returned, so a number
    // is never handed out twice, whatever happens after.
    std::uint64_t allocateNumber();

    // Writes ks.cfg, out/, work/, the pending marker and record.json (last:
    // a build exists once its record does).
    void create(const BuildRecord& record, const std::string& kickstart);
    // Temporary file, fsync, rename, fsync of the directory by default.
    // kFile only where a lost rename is harmless (the start of a build:
    // reconcile() gets it back from systemd and the started marker).
    void save(const BuildRecord& record, Sync sync = Sync::kFileAndDirectory);
    // An empty file saying systemd was (about to be) asked to run the build:
    // it takes no data block, so it is written even on a full filesystem.
    void markStarted(const std::string& id);
    bool wasStarted(const std::string& id) const;
    // The build's attempt `attempt` ended and it runs again (a type's
    // retry = infra:N): its outcome and staging files are kept as
    // outcome.<attempt> and staging.<attempt>.json, its started marker goes,
    // so the next attempt starts as a queued build does. Throws
    // std::system_error (then nothing of the next attempt may start).
    void endAttempt(const std::string& id, std::uint32_t attempt);
    // Called once the build is final: drops the pending marker.
    void markDone(const std::string& id);
    // Deletes a finished build's directory: record.json first, so a crash
    // midway leaves a directory load() finds no record in, never a half build.
    // Throws std::filesystem::filesystem_error.
    void remove(const std::string& id);

    // Told of a record that cannot be read: its path and why.
    using CorruptHandler = std::function<void(const std::filesystem::path&, const std::string&)>;

    // The names under builds/ that are build ids (no record read).
    std::vector<std::string> buildIds() const;
    // One build's record; nullopt if it has none. Throws on a corrupt one.
    std::optional<BuildRecord> load(const std::string& id) const;

    std::optional<UnitOutcome> readOutcome(const std::string& id) const;
    std::string readKickstart(const std::string& id) const;

private:
    std::filesystem::path root_;
    bool scanned_ = false;
    std::uint64_t highestOnDisk_ = 0;
};

}  // namespace imagebuild::agent
