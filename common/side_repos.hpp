// Extra repositories of a build: the side repository made from RPMs uploaded
// with the request, remote repositories named in it (`repos`), and the
// release's updates repositories (`updates`, `updates_testing`). The pure
// part: reading what rpm says of a package, checking names and URLs, and
// the block of repo lines the agent puts at the top of the kickstart.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagebuild {

// The repo names the agent gives its own repositories; a spec's `repos`
// may not use the "imagebuild-" prefix.
inline constexpr const char* kSideRepoName = "imagebuild-side";
inline constexpr const char* kUpdatesRepoName = "imagebuild-updates";
inline constexpr const char* kUpdatesTestingRepoName = "imagebuild-updates-testing";

// The --qf of `rpm -qp` that parseRpmQuery reads: one line of tab-separated
// fields. SOURCERPM is "(none)" for a source package.
inline constexpr const char* kRpmQueryFormat =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n";

struct Nevra {
    std::string name;
    std::string epoch;  // empty: none
    std::string version;
    std::string release;
    std::string arch;
    bool source = false;  // a source package (.src.rpm)

    // name-[epoch:]version-release.arch, as dnf prints it.
    std::string str() const;
    // name-version-release.arch.rpm: the package's file in the side repository.
    std::string fileName() const;
    bool operator==(const Nevra&) const = default;
};

// nullopt when the text is not one line of kRpmQueryFormat fields (each
// field non-empty, no blanks or '/' in name, version, release and arch).
std::optional<Nevra> parseRpmQuery(std::string_view output);

// A package of arch goes into a build of buildArch: the same arch, or noarch.
bool archFitsBuild(std::string_view arch, std::string_view buildArch);

// Why url cannot be a repository's base URL, as a phrase ("has the scheme
// ftp: ..."); empty when it can: http://, https:// or file:/// with an
// absolute path, at most 2048 bytes of printable ASCII without blanks or
// quotes (it becomes one word of a kickstart line).
std::string repoUrlProblem(std::string_view url);

// Why name cannot be a repository name given in a spec; empty when it can:
// 1 to 64 letters, digits, '.', '_' and '-', not starting with '.' or '-',
// not starting with "imagebuild-" (the agent's own).
std::string repoNameProblem(std::string_view name);

// An updates URL template of imagebuild.conf with {release} and {arch}
// replaced.
std::string expandRepoTemplate(std::string_view url, std::string_view release,
                               std::string_view arch);

struct AddedRepo {
    std::string name;
    std::string baseurl;
};

// The kickstart with one `repo --name=NAME --baseurl=URL` line per repo at
// its top, between two marker comments, replacing such a block that is
// already there (the kickstart of a build retried). No repos: the
// kickstart without any block.
std::string withAddedRepos(std::string_view kickstart, const std::vector<AddedRepo>& repos);

}  // namespace imagebuild
