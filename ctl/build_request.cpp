#include "ctl/build_request.hpp"

#include <fcntl.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/side_repos.hpp"
#include "common/unique_fd.hpp"
#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

namespace {

// File name -> an fd the agent reads the file from.
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

}  // namespace

std::map<std::string, sdbus::Variant> toDbusSpec(const BuildRequest& request) {
    std::map<std::string, sdbus::Variant> spec{
        {"type", sdbus::Variant(request.type)},
        {"arch", sdbus::Variant(request.arch)},
        {"release", sdbus::Variant(request.release)},
        {"kickstart", sdbus::Variant(request.kickstart)},
    };
    if (!request.name.empty()) {
        spec["name"] = sdbus::Variant(request.name);
    }
    if (!request.notify.empty()) {
        spec["notify"] = sdbus::Variant(request.notify);
    }
    if (request.timeoutSec) {
        spec["timeout_sec"] = sdbus::Variant(*request.timeoutSec);
    }
    if (!request.labels.empty()) {
        spec["labels"] = sdbus::Variant(request.labels);
    }
    if (!request.repos.empty()) {
        spec["repos"] = sdbus::Variant(request.repos);
    }
    if (request.updates) {
        spec["updates"] = sdbus::Variant(true);
    }
    if (request.updatesTesting) {
        spec["updates_testing"] = sdbus::Variant(true);
    }
    if (!request.rpms.empty()) {
        spec["rpms"] = sdbus::Variant(openRpms(request.rpms));
    }
    return spec;
}

nlohmann::json toJsonSpec(const BuildRequest& request) {
    nlohmann::json spec{{"type", request.type},
                        {"arch", request.arch},
                        {"release", request.release},
                        {"kickstart", request.kickstart}};
    if (!request.name.empty()) {
        spec["name"] = request.name;
    }
    if (!request.notify.empty()) {
        spec["notify"] = request.notify;
    }
    if (request.timeoutSec) {
        spec["timeout_sec"] = *request.timeoutSec;
    }
    if (!request.labels.empty()) {
        spec["labels"] = request.labels;
    }
    if (!request.repos.empty()) {
        spec["repos"] = request.repos;
    }
    if (request.updates) {
        spec["updates"] = true;
    }
    if (request.updatesTesting) {
        spec["updates_testing"] = true;
    }
    return spec;
}

std::map<std::string, std::string> parseLabels(const std::vector<std::string>& labels) {
    std::map<std::string, std::string> result;
    for (const auto& label : labels) {
        auto eq = label.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw CtlError(
                kExitUsage,
                fmt::format("--label '{}': expected KEY=VALUE, e.g. --label team=qa", label));
        }
        result[label.substr(0, eq)] = label.substr(eq + 1);
    }
    return result;
}

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

}  // namespace imagebuild::ctl
