// The side repository of a build: the RPMs a client uploaded with Submit
// (spec key "rpms", file descriptors), checked, copied and indexed with
// createrepo_c into builds/<id>/repo/, which the build's kickstart names in
// a `repo --name=imagebuild-side --baseurl=file://...` line.
//
// Where: in the agent, at Submit, before the build exists. Not in an
// ExecStartPre= of the build's unit: every refusal (not an RPM, another
// arch, the same package twice, too large, createrepo_c failing) is then
// the caller's answer to Submit, a named error before an id is handed out
// and before anything runs, and nothing is left on disk; a step of the
// unit could only fail the build after Submit had said yes. The repository
// lies in the build's state directory, which the build's sandbox binds
// read-only (unit_sandbox.cpp): the build reads it, cannot change it.
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/build_spec.hpp"
#include "common/config.hpp"
#include "common/side_repos.hpp"

namespace imagebuild::agent {

// A file that is not a usable RPM (org.imagebuild.Error.InvalidPackage);
// the message names the file and what is accepted.
class PackageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The RPMs weigh more than [repositories] max_upload
// (org.imagebuild.Error.UploadTooLarge).
class UploadTooLargeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One package of a side repository, as the record and manifest.json keep it.
struct SidePackage {
    std::string file;  // the name the client gave
    Nevra nevra;
    std::string sha256;
    std::uint64_t size = 0;
};

void to_json(nlohmann::json& j, const SidePackage& p);
void from_json(const nlohmann::json& j, SidePackage& p);

// The repositories a build adds to its kickstart, in this order: its side
// repository (sideRepoDir, absolute; empty: none), its spec's repos, the
// release's updates and updates-testing repositories when asked for.
// Throws UnsupportedError when the release has no such updates repository.
std::vector<AddedRepo> addedRepos(const BuildSpec& spec, const RepositoriesConfig& repositories,
                                  const std::string& sideRepoDir);

// The size of every upload, checked before anything is read: fstat of each
// fd. Throws PackageError (not a regular file) or UploadTooLargeError.
void checkUploadSizes(const std::map<std::string, sdbus::UnixFd>& rpms, std::uint64_t maxBytes);

// A repository made in a scratch directory, removed with this object unless
// moved into its build first.
class SideRepo {
public:
    // Reads each fd into scratchParent/side-XXXXXX/, checks it with
    // `rpm -qp` (an RPM, not a source package, arch fits buildArch, no
    // NEVRA twice) and runs createrepo_c. Throws PackageError,
    // UploadTooLargeError, UnsupportedError (rpm or createrepo_c missing),
    // or std::runtime_error when a tool fails.
    static SideRepo fromUploads(const std::map<std::string, sdbus::UnixFd>& rpms,
                                const std::string& buildArch, std::uint64_t maxBytes,
                                const std::filesystem::path& scratchParent);
    // A copy of a build's repository, for its retry.
    static SideRepo copyOf(const std::filesystem::path& repo, std::vector<SidePackage> packages,
                           const std::filesystem::path& scratchParent);

    SideRepo(SideRepo&& other) noexcept;
    SideRepo& operator=(SideRepo&& other) noexcept;
    SideRepo& operator=(const SideRepo&) = delete;
    SideRepo(const SideRepo&) = delete;
    ~SideRepo();

    const std::vector<SidePackage>& packages() const { return packages_; }
    // Renames the directory to target (same filesystem); it is the
    // build's from then on.
    void moveTo(const std::filesystem::path& target);

private:
    SideRepo(std::filesystem::path dir, std::vector<SidePackage> packages)
        : dir_(std::move(dir)), packages_(std::move(packages)) {}
    void removeDir() noexcept;

    std::filesystem::path dir_;  // empty once moved
    std::vector<SidePackage> packages_;
};

}  // namespace imagebuild::agent
