#include "ctl/side_repo_options.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/build_spec.hpp"
#include "common/side_repos.hpp"
#include "common/unique_fd.hpp"
#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

std::map<std::string, std::string> parseRepos(const std::vector<std::string>& repos) {
    std::map<std::string, std::string> result;
    for (const auto& repo : repos) {
        auto eq = repo.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw CtlError(kExitUsage, fmt::format("--repo '{}': expected NAME=URL, e.g. --repo "
                                                   "extras=https://example.org/repo/",
                                                   repo));
        }
        auto name = repo.substr(0, eq);
        auto url = repo.substr(eq + 1);
        if (auto problem = repoNameProblem(name); !problem.empty()) {
            throw CtlError(kExitUsage, fmt::format("--repo '{}': the name {}", repo, problem));
        }
        if (auto problem = repoUrlProblem(url); !problem.empty()) {
            throw CtlError(kExitUsage, fmt::format("--repo '{}': the URL {}", repo, problem));
        }
        if (result.count(name) != 0) {
            throw CtlError(kExitUsage,
                           fmt::format("--repo '{}': another --repo is named {}", repo, name));
        }
        result[name] = url;
    }
    return result;
}

std::map<std::string, sdbus::UnixFd> openRpms(const std::vector<std::string>& paths) {
    std::map<std::string, sdbus::UnixFd> rpms;
    for (const auto& path : paths) {
        auto name = std::filesystem::path(path).filename().string();
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            throw CtlError(kExitUsage,
                           fmt::format("--rpm {}: cannot open it: {}", path, std::strerror(errno)));
        }
        if (rpms.count(name) != 0) {
            throw CtlError(kExitUsage, fmt::format("--rpm {}: another --rpm has the file name "
                                                   "{}; give each package once",
                                                   path, name));
        }
        rpms.emplace(name, sdbus::UnixFd(fd.release(), sdbus::adopt_fd));
    }
    return rpms;
}

namespace {

// The whole file from offset 0 (pread: the fd's own offset stays where the
// D-Bus path expects it).
std::string readAll(const std::string& name, int fd) {
    std::string data;
    char buffer[1 << 16];
    for (off_t offset = 0;;) {
        ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw CtlError(kExitUsage,
                           fmt::format("--rpm {}: cannot read it: {}", name, std::strerror(errno)));
        }
        if (n == 0) {
            return data;
        }
        data.append(buffer, static_cast<std::size_t>(n));
        offset += n;
    }
}

}  // namespace

MultipartBody submitFormOf(const BuildSpec& spec) {
    auto body = specToJson(spec);
    body.erase("rpms");  // the files are the `rpm` parts
    std::vector<MultipartPart> parts{{"spec", "", "application/json", body.dump()}};
    for (const auto& [name, fd] : spec.rpms) {
        parts.push_back({"rpm", name, "application/x-rpm", readAll(name, fd.get())});
    }
    return encodeMultipart(parts);
}

}  // namespace imagebuild::ctl
