// Free space on the filesystems the agent writes to, said the way a person
// acts on it: which filesystem (its mount point), how much is free. Used by
// admission control ([host] min_free) and to name a full disk in refusals
// and in the Reason of a build that ran out of space.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

namespace imagebuild::agent {

struct DiskSpace {
    std::filesystem::path mountPoint;  // of the filesystem holding the path
    std::uint64_t freeBytes = 0;       // available to unprivileged writers
    std::uint64_t device = 0;          // st_dev: the same filesystem twice is checked once
};

// statvfs(2) of path; nullopt if it cannot be asked (path gone, ...).
std::optional<DiskSpace> diskSpaceOf(const std::filesystem::path& path);

// "0 B", "812K", "1.5M", "2.0G": as df -h says it (powers of 1024).
std::string formatSize(std::uint64_t bytes);

// Whether a write failed because a filesystem is full (ENOSPC, EDQUOT).
bool isNoSpace(const std::error_code& code);

}  // namespace imagebuild::agent
