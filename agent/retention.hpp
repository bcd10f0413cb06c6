// Retention ([retention] in imagebuild.conf, BuildManager1.Cleanup): which
// builds to remove. Finished, unpinned builds only: first those that ended
// longer than max_age ago, then, oldest first, as many more as it takes to
// bring all build directories together under max_total_size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace imagebuild::agent {

struct RetentionCandidate {
    std::string id;
    bool removable = false;        // finished and not pinned
    std::uint64_t finishedAt = 0;  // usec since the epoch
    std::uint64_t bytes = 0;       // the size of its directory
};

struct Removal {
    std::string id;
    std::string reason;  // "ended 31 d ago (max_age 30 d)", ...
};

// builds: every build on the host (unremovable ones count towards the
// total size too). The result is oldest first.
std::vector<Removal> selectForRemoval(const std::vector<RetentionCandidate>& builds,
                                      const RetentionConfig& config, std::uint64_t nowUsec);

// The apparent size of the regular files under dir; symlinks are not
// followed, unreadable parts count as 0.
std::uint64_t directorySize(const std::filesystem::path& dir);

}  // namespace imagebuild::agent
