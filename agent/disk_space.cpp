#include "agent/disk_space.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>

namespace imagebuild::agent {

namespace fs = std::filesystem;

namespace {

std::optional<dev_t> deviceOf(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) {
        return std::nullopt;
    }
    return st.st_dev;
}

// The topmost directory above path on the same device: its mount point (a
// bind mount of a subdirectory gives the subdirectory, which is what a
// person sees in findmnt too).
fs::path mountPointOf(const fs::path& path, dev_t device) {
    auto at = fs::absolute(path).lexically_normal();
    while (at.has_relative_path()) {
        auto parent = at.parent_path();
        auto parentDevice = deviceOf(parent);
        if (!parentDevice || *parentDevice != device) {
            break;
        }
        at = parent;
    }
    return at;
}

}  // namespace

std::optional<DiskSpace> diskSpaceOf(const fs::path& path) {
    struct statvfs vfs {};
    auto device = deviceOf(path);
    if (!device || ::statvfs(path.c_str(), &vfs) < 0) {
        return std::nullopt;
    }
    return DiskSpace{mountPointOf(path, *device),
                     static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize,
                     static_cast<std::uint64_t>(*device)};
}

std::string formatSize(std::uint64_t bytes) {
    if (bytes < 1024) {
        return fmt::format("{} B", bytes);
    }
    const char* units = "KMGTPE";
    double value = static_cast<double>(bytes) / 1024;
    int unit = 0;
    while (value >= 1024 && unit < 5) {
        value /= 1024;
        ++unit;
    }
    // One decimal below 10, as df -h: 1.5M, 12M, 812K.
    return value < 10 ? fmt::format("{:.1f}{}", value, units[unit])
                      : fmt::format("{:.0f}{}", value, units[unit]);
}

bool isNoSpace(const std::error_code& code) {
    return code == std::errc::no_space_on_device || code.value() == EDQUOT;
}

}  // namespace imagebuild::agent
