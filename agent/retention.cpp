#include "agent/retention.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/build_notification.hpp"

namespace fs = std::filesystem;

namespace imagebuild::agent {

std::vector<Removal> selectForRemoval(const std::vector<RetentionCandidate>& builds,
                                      const RetentionConfig& config, std::uint64_t nowUsec) {
    std::vector<const RetentionCandidate*> oldestFirst;
    std::uint64_t total = 0;
    for (const auto& build : builds) {
        total += build.bytes;
        if (build.removable) {
            oldestFirst.push_back(&build);
        }
    }
    std::stable_sort(oldestFirst.begin(), oldestFirst.end(),
                     [](const auto* a, const auto* b) { return a->finishedAt < b->finishedAt; });
    std::vector<Removal> removals;
    for (const auto* build : oldestFirst) {
        std::uint64_t age = nowUsec > build->finishedAt ? nowUsec - build->finishedAt : 0;
        if (config.maxAgeSec && age > *config.maxAgeSec * 1'000'000) {
            removals.push_back(
                {build->id, fmt::format("ended {} ago (max_age {})", humanDuration(age),
                                        humanDuration(*config.maxAgeSec * 1'000'000))});
            total -= build->bytes;
        } else if (config.maxTotalBytes && total > *config.maxTotalBytes) {
            removals.push_back(
                {build->id, fmt::format("all builds take {} bytes (max_total_size {})", total,
                                        *config.maxTotalBytes)});
            total -= build->bytes;
        }
    }
    return removals;
}

std::uint64_t directorySize(const fs::path& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(
             dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code fileEc;
        if (it->is_regular_file(fileEc) && !it->is_symlink(fileEc)) {
            auto size = it->file_size(fileEc);
            total += fileEc ? 0 : size;
        }
    }
    return total;
}

}  // namespace imagebuild::agent
