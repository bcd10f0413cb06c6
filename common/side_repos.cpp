#include "common/side_repos.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace imagebuild {

namespace {

constexpr std::string_view kBlockBegin =
    "# imagebuild: repositories added to this build (--rpm, --repo, --updates)";
constexpr std::string_view kBlockEnd = "# imagebuild: end of added repositories";
constexpr std::size_t kMaxRepoUrlBytes = 2048;

std::vector<std::string_view> splitTabs(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (true) {
        auto tab = line.find('\t', start);
        fields.push_back(line.substr(start, tab - start));
        if (tab == std::string_view::npos) {
            return fields;
        }
        start = tab + 1;
    }
}

// A field that becomes part of a file name and of dnf's words.
bool isPackageWord(std::string_view s) {
    return !s.empty() && s.front() != '.' && s.front() != '-' &&
           std::all_of(s.begin(), s.end(), [](char c) {
               auto u = static_cast<unsigned char>(c);
               return u > 0x20 && u < 0x7f && c != '/' && c != '\\' && c != '"' && c != '\'';
           });
}

bool startsWith(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string Nevra::str() const {
    return fmt::format("{}-{}{}-{}.{}", name, epoch.empty() ? "" : epoch + ":", version, release,
                       arch);
}

std::string Nevra::fileName() const {
    return fmt::format("{}-{}-{}.{}.rpm", name, version, release, arch);
}

std::optional<Nevra> parseRpmQuery(std::string_view output) {
    if (!output.empty() && output.back() == '\n') {
        output.remove_suffix(1);
    }
    if (output.find('\n') != std::string_view::npos) {
        return std::nullopt;
    }
    auto f = splitTabs(output);
    if (f.size() != 6) {
        return std::nullopt;
    }
    Nevra n{std::string(f[0]), std::string(f[1]), std::string(f[2]),
            std::string(f[3]), std::string(f[4]), f[5] == "(none)"};
    if (n.epoch == "(none)") {
        n.epoch.clear();
    }
    bool epochOk = n.epoch.empty() || std::all_of(n.epoch.begin(), n.epoch.end(), [](char c) {
                       return std::isdigit(static_cast<unsigned char>(c));
                   });
    if (!epochOk || !isPackageWord(n.name) || !isPackageWord(n.version) ||
        !isPackageWord(n.release) || !isPackageWord(n.arch)) {
        return std::nullopt;
    }
    return n;
}

bool archFitsBuild(std::string_view arch, std::string_view buildArch) {
    return arch == buildArch || arch == "noarch";
}

std::string repoUrlProblem(std::string_view url) {
    if (url.empty()) {
        return "is empty; give an http://, https:// or file:/// URL";
    }
    if (url.size() > kMaxRepoUrlBytes) {
        return fmt::format("is {} bytes long; at most {} are allowed", url.size(),
                           kMaxRepoUrlBytes);
    }
    for (char c : url) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\'' || c == '\\' || c == '`') {
            return "holds a blank, a quote, a backslash or a character that is not printable "
                   "ASCII; percent-encode it";
        }
    }
    if (startsWith(url, "file://")) {
        auto path = url.substr(7);
        if (path.empty() || path.front() != '/' || path.find("/../") != std::string_view::npos) {
            return "is a file:// URL without an absolute path (file:///srv/repo)";
        }
        return {};
    }
    for (std::string_view scheme : {"http://", "https://"}) {
        if (startsWith(url, scheme)) {
            auto rest = url.substr(scheme.size());
            if (rest.empty() || rest.front() == '/') {
                return "has no host name";
            }
            return {};
        }
    }
    auto colon = url.find(':');
    return fmt::format("has {}; allowed: http://, https:// and file:///",
                       colon == std::string_view::npos || colon > 16
                           ? std::string("no scheme")
                           : fmt::format("the scheme {}", url.substr(0, colon + 1)));
}

std::string repoNameProblem(std::string_view name) {
    bool word =
        !name.empty() && name.size() <= 64 && name.front() != '.' && name.front() != '-' &&
        std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        });
    if (!word) {
        return "must be 1 to 64 letters, digits, '.', '_' and '-' (not starting with '.' or '-')";
    }
    if (startsWith(name, "imagebuild-")) {
        return "starts with \"imagebuild-\", which is kept for the repositories imagebuild adds";
    }
    return {};
}

std::string expandRepoTemplate(std::string_view url, std::string_view release,
                               std::string_view arch) {
    std::string out;
    std::size_t i = 0;
    while (i < url.size()) {
        if (startsWith(url.substr(i), "{release}")) {
            out += release;
            i += 9;
        } else if (startsWith(url.substr(i), "{arch}")) {
            out += arch;
            i += 6;
        } else {
            out += url[i++];
        }
    }
    return out;
}

std::string withAddedRepos(std::string_view kickstart, const std::vector<AddedRepo>& repos) {
    // A block from an earlier submission (a retry) goes first: the new one
    // says what this build adds.
    if (startsWith(kickstart, kBlockBegin)) {
        auto end = kickstart.find(kBlockEnd);
        if (end != std::string_view::npos) {
            auto after = kickstart.find('\n', end);
            kickstart.remove_prefix(after == std::string_view::npos ? kickstart.size() : after + 1);
        }
    }
    if (repos.empty()) {
        return std::string(kickstart);
    }
    std::string out = std::string(kBlockBegin) + "\n";
    for (const auto& repo : repos) {
        out += fmt::format("repo --name={} --baseurl={}\n", repo.name, repo.baseurl);
    }
    out += std::string(kBlockEnd) + "\n";
    out += kickstart;
    return out;
}

}  // namespace imagebuild
