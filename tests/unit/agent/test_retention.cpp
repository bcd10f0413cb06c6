// Which builds Cleanup removes: by age, then by total size, oldest first,
// never an unfinished or pinned one.
#include <gtest/gtest.h>

#include "agent/retention.hpp"
#include "tests/unit/temp_tree.hpp"

using imagebuild::RetentionConfig;
using imagebuild::agent::directorySize;
using imagebuild::agent::RetentionCandidate;
using imagebuild::agent::selectForRemoval;

namespace {

constexpr std::uint64_t kSecond = 1'000'000;
constexpr std::uint64_t kNow = 1'000'000 * kSecond;

std::vector<std::string> idsOf(const std::vector<imagebuild::agent::Removal>& removals) {
    std::vector<std::string> ids;
    for (const auto& r : removals) {
        ids.push_back(r.id);
    }
    return ids;
}

RetentionConfig ageOnly(std::uint64_t seconds) {
    RetentionConfig config;
    config.maxAgeSec = seconds;
    return config;
}

}  // namespace

TEST(Retention, RemovesFinishedBuildsOlderThanMaxAgeOldestFirst) {
    std::vector<RetentionCandidate> builds = {
        {"h-1", true, kNow - 100 * kSecond, 10},
        {"h-2", true, kNow - 5 * kSecond, 10},
        {"h-3", true, kNow - 200 * kSecond, 10},
    };
    auto removals = selectForRemoval(builds, ageOnly(60), kNow);
    EXPECT_EQ(idsOf(removals), (std::vector<std::string>{"h-3", "h-1"}));
    EXPECT_EQ(removals[0].reason, "ended 3 min 20 s ago (max_age 1 min 00 s)");
}

TEST(Retention, NeverRemovesUnfinishedOrPinnedBuilds) {
    std::vector<RetentionCandidate> builds = {
        {"h-1", false, 0, 10},                     // running: never finished
        {"h-2", false, kNow - 900 * kSecond, 10},  // pinned
        {"h-3", true, kNow - 900 * kSecond, 10},
    };
    EXPECT_EQ(idsOf(selectForRemoval(builds, ageOnly(1), kNow)), (std::vector<std::string>{"h-3"}));
}

TEST(Retention, TotalSizeRemovesOldestUntilUnderTheLimitCountingKeptBuilds) {
    RetentionConfig config;
    config.maxAgeSec = std::nullopt;
    config.maxTotalBytes = 250;
    std::vector<RetentionCandidate> builds = {
        {"h-1", false, kNow - 50 * kSecond, 100},  // pinned: counts, stays
        {"h-2", true, kNow - 40 * kSecond, 100},
        {"h-3", true, kNow - 30 * kSecond, 100},
        {"h-4", true, kNow - 20 * kSecond, 100},
    };
    auto removals = selectForRemoval(builds, config, kNow);
    EXPECT_EQ(idsOf(removals), (std::vector<std::string>{"h-2", "h-3"}));
    EXPECT_EQ(removals[0].reason, "all builds take 400 bytes (max_total_size 250)");
}

TEST(Retention, NoLimitsRemoveNothing) {
    RetentionConfig config;
    config.maxAgeSec = std::nullopt;
    std::vector<RetentionCandidate> builds = {{"h-1", true, 1, 1ULL << 40}};
    EXPECT_TRUE(selectForRemoval(builds, config, kNow).empty());
}

TEST(Retention, DirectorySizeSumsRegularFilesWithoutFollowingLinks) {
    imagebuild::testing::TempTree tree;
    tree.write("a", std::string(100, 'x'));
    tree.write("sub/b", std::string(23, 'y'));
    std::filesystem::create_symlink("/usr/bin", tree.path("link"));
    EXPECT_EQ(directorySize(tree.root()), 123u);
    EXPECT_EQ(directorySize(tree.path("missing")), 0u);
}
