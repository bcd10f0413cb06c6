#include "agent/side_repo.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "agent/capture_output.hpp"
#include "common/build_spec.hpp"
#include "common/config.hpp"
#include "common/sha256.hpp"
#include "common/unique_fd.hpp"

namespace fs = std::filesystem;

namespace imagebuild::agent {

namespace {

// Every RPM starts with this lead. Checked before rpm sees the file: `rpm
// -qp` reads anything else as a manifest, a list of other paths to query.
constexpr std::array<unsigned char, 4> kRpmMagic{0xed, 0xab, 0xee, 0xdb};
constexpr int kRpmSilenceMs = 30'000;
constexpr int kCreaterepoSilenceMs = 300'000;

std::string formatBytes(std::uint64_t n) {
    if (n >= (std::uint64_t{1} << 20)) {
        return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
    }
    return fmt::format("{} bytes", n);
}

std::string firstLine(const std::string& text) {
    auto end = text.find('\n');
    return text.substr(0, end);
}

std::string tool(const char* name) {
    auto path = findProgram(name);
    if (path.empty()) {
        throw UnsupportedError(
            fmt::format("this host takes no side RPMs: {} is not installed", name));
    }
    return path;
}

struct Copied {
    std::uint64_t size = 0;
    std::string sha256;
    bool rpmLead = false;
};

// Reads the whole of fd from offset 0 into path (mode 0644), hashing it;
// past `budget` bytes it stops with UploadTooLargeError.
Copied copyUpload(int fd, const fs::path& path, const std::string& name, std::uint64_t budget,
                  std::uint64_t maxBytes) {
    UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out) {
        throw std::system_error(errno, std::generic_category(), "cannot create " + path.string());
    }
    Copied c;
    Sha256 hash;
    std::array<char, 1 << 16> buffer{};
    off_t offset = 0;
    while (true) {
        ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw PackageError(fmt::format("{}: cannot be read: {}", name, std::strerror(errno)));
        }
        if (n == 0) {
            break;
        }
        if (c.size == 0) {
            c.rpmLead = n >= 4 && std::equal(kRpmMagic.begin(), kRpmMagic.end(),
                                             reinterpret_cast<unsigned char*>(buffer.data()));
        }
        c.size += static_cast<std::uint64_t>(n);
        offset += n;
        if (c.size > budget) {
            throw UploadTooLargeError(fmt::format(
                "the RPMs are larger than this host takes: {} alone brings them past {} "
                "([repositories] max_upload)",
                name, formatBytes(maxBytes)));
        }
        hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        for (ssize_t done = 0; done < n;) {
            ssize_t w =
                ::write(out.get(), buffer.data() + done, static_cast<std::size_t>(n - done));
            if (w < 0 && errno != EINTR) {
                throw std::system_error(errno, std::generic_category(),
                                        "cannot write " + path.string());
            }
            done += w < 0 ? 0 : w;
        }
    }
    c.sha256 = hash.finishHex();
    return c;
}

Nevra queryPackage(const fs::path& path, const std::string& name) {
    auto rpm = tool("rpm");
    auto out = captureOutput({rpm, "-qp", "--nosignature", "--qf", kRpmQueryFormat, path.string()},
                             {kRpmSilenceMs, 64 * 1024});
    if (!out.exitedOk) {
        auto why = firstLine(out.text);
        throw PackageError(fmt::format("{} is not a readable RPM package{}{}", name,
                                       why.empty() ? "" : ": rpm says ", why));
    }
    auto nevra = parseRpmQuery(out.text);
    if (!nevra) {
        throw PackageError(
            fmt::format("{}: rpm gives no usable name, version, release and arch "
                        "for it (\"{}\")",
                        name, firstLine(out.text).substr(0, 120)));
    }
    return *nevra;
}

void checkFits(const Nevra& nevra, const std::string& name, const std::string& buildArch,
               const std::vector<SidePackage>& earlier) {
    if (nevra.source) {
        throw PackageError(
            fmt::format("{} is a source package ({}); only binary RPMs go into an "
                        "image",
                        name, nevra.str()));
    }
    if (!archFitsBuild(nevra.arch, buildArch)) {
        throw PackageError(
            fmt::format("{} is {}, a package for {}; this build is for {}: only {} "
                        "and noarch packages are accepted",
                        name, nevra.str(), nevra.arch, buildArch, buildArch));
    }
    for (const auto& p : earlier) {
        if (p.nevra == nevra || p.nevra.fileName() == nevra.fileName()) {
            throw PackageError(
                fmt::format("{} and {} are the same package, {}; give each package "
                            "once",
                            p.file, name, nevra.str()));
        }
    }
}

fs::path makeScratchDir(const fs::path& parent) {
    fs::create_directories(parent);
    auto pattern = (parent / "side-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot create a directory in " + parent.string());
    }
    // The build reads it, as its own user in a strict sandbox.
    fs::permissions(pattern, fs::perms(0755));
    return pattern;
}

}  // namespace

void to_json(nlohmann::json& j, const SidePackage& p) {
    j = {{"file", p.file},         {"nevra", p.nevra.str()},     {"name", p.nevra.name},
         {"epoch", p.nevra.epoch}, {"version", p.nevra.version}, {"release", p.nevra.release},
         {"arch", p.nevra.arch},   {"sha256", p.sha256},         {"size", p.size}};
}

void from_json(const nlohmann::json& j, SidePackage& p) {
    j.at("file").get_to(p.file);
    j.at("name").get_to(p.nevra.name);
    j.at("epoch").get_to(p.nevra.epoch);
    j.at("version").get_to(p.nevra.version);
    j.at("release").get_to(p.nevra.release);
    j.at("arch").get_to(p.nevra.arch);
    j.at("sha256").get_to(p.sha256);
    j.at("size").get_to(p.size);
}

std::vector<AddedRepo> addedRepos(const BuildSpec& spec, const RepositoriesConfig& repositories,
                                  const std::string& sideRepoDir) {
    std::vector<AddedRepo> repos;
    if (!sideRepoDir.empty()) {
        repos.push_back({kSideRepoName, "file://" + sideRepoDir});
    }
    for (const auto& [name, url] : spec.repos) {
        repos.push_back({name, url});
    }
    auto updates = [&](bool wanted, bool testing, const char* name) {
        if (!wanted) {
            return;
        }
        auto url = updatesUrlFor(repositories, spec.release, spec.arch, testing);
        if (url.empty()) {
            throw UnsupportedError(
                fmt::format("release {} has no {} repository on this host ([release.{}] {} in "
                            "imagebuild.conf is empty)",
                            spec.release, testing ? "updates-testing" : "updates", spec.release,
                            testing ? "updates_testing" : "updates"));
        }
        repos.push_back({name, url});
    };
    updates(spec.updates, false, kUpdatesRepoName);
    updates(spec.updatesTesting, true, kUpdatesTestingRepoName);
    return repos;
}

void checkUploadSizes(const std::map<std::string, sdbus::UnixFd>& rpms, std::uint64_t maxBytes) {
    std::uint64_t total = 0;
    std::uint64_t largest = 0;
    std::string largestName;
    for (const auto& [name, fd] : rpms) {
        struct stat st {};
        if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
            throw PackageError(fmt::format("{} is not a regular file; upload RPM files", name));
        }
        auto size = static_cast<std::uint64_t>(st.st_size);
        total += size;
        if (size >= largest) {
            largest = size;
            largestName = name;
        }
    }
    if (total > maxBytes) {
        throw UploadTooLargeError(fmt::format(
            "the RPMs weigh {} in all (largest: {}, {}); this host takes at most {} per build "
            "([repositories] max_upload)",
            formatBytes(total), largestName, formatBytes(largest), formatBytes(maxBytes)));
    }
}

SideRepo SideRepo::fromUploads(const std::map<std::string, sdbus::UnixFd>& rpms,
                               const std::string& buildArch, std::uint64_t maxBytes,
                               const fs::path& scratchParent) {
    checkUploadSizes(rpms, maxBytes);
    SideRepo repo(makeScratchDir(scratchParent), {});
    std::uint64_t budget = maxBytes;
    std::size_t n = 0;
    for (const auto& [name, fd] : rpms) {
        auto upload = repo.dir_ / fmt::format("upload-{}", n++);
        auto copied = copyUpload(fd.get(), upload, name, budget, maxBytes);
        budget -= copied.size;
        if (!copied.rpmLead) {
            throw PackageError(
                fmt::format("{} is not an RPM package (it does not start with an "
                            "RPM lead); only binary .rpm files are accepted",
                            name));
        }
        auto nevra = queryPackage(upload, name);
        checkFits(nevra, name, buildArch, repo.packages_);
        fs::rename(upload, repo.dir_ / nevra.fileName());
        repo.packages_.push_back(SidePackage{name, nevra, copied.sha256, copied.size});
    }
    auto out = captureOutput({tool("createrepo_c"), "--quiet", "--no-database", repo.dir_.string()},
                             {kCreaterepoSilenceMs, 64 * 1024});
    if (!out.exitedOk) {
        throw std::runtime_error(
            fmt::format("createrepo_c failed on the side repository: {}", firstLine(out.text)));
    }
    return repo;
}

SideRepo SideRepo::copyOf(const fs::path& source, std::vector<SidePackage> packages,
                          const fs::path& scratchParent) {
    SideRepo repo(makeScratchDir(scratchParent), std::move(packages));
    fs::copy(source, repo.dir_, fs::copy_options::recursive);
    return repo;
}

SideRepo::SideRepo(SideRepo&& other) noexcept
    : dir_(std::move(other.dir_)), packages_(std::move(other.packages_)) {
    other.dir_.clear();
}

SideRepo& SideRepo::operator=(SideRepo&& other) noexcept {
    if (this != &other) {
        removeDir();
        dir_ = std::move(other.dir_);
        packages_ = std::move(other.packages_);
        other.dir_.clear();
    }
    return *this;
}

SideRepo::~SideRepo() {
    removeDir();
}

void SideRepo::removeDir() noexcept {
    if (!dir_.empty()) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
        dir_.clear();
    }
}

void SideRepo::moveTo(const fs::path& target) {
    fs::rename(dir_, target);
    dir_.clear();
}

}  // namespace imagebuild::agent
