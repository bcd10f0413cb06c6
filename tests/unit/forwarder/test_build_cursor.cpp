// Cursor paging of GET /v1/builds: the cursor's text, what each host asks
// its agent for, and the merge of the hosts' pages by time, walked page by
// page over a fleet until every build was shown once, in order.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "forwarder/build_cursor.hpp"

namespace imagebuild::forwarder {
namespace {

using json = nlohmann::json;

json build(const std::string& host, std::uint64_t n, std::uint64_t at) {
    return json{{"id", host + "-" + std::to_string(n)},
                {"host", host},
                {"submitted_at", at},
                {"state", "succeeded"}};
}

BuildQuery pageQuery(bool newestFirst, std::size_t limit) {
    BuildQuery q;
    q.newestFirst = newestFirst;
    q.limit = limit;
    q.paged = true;
    return q;
}

// What an agent's ListBuilds answers for `filter` (common/list_builds:
// selectPage), over one host's builds in submission order.
SourcePage agentPage(const std::vector<json>& builds, const BuildListFilter& filter) {
    auto indices = selectPage(filter, builds.size(), [&](std::size_t i) {
        auto key = sortKeyOf(builds[i]);
        return PageProbe{key.number, key.submittedAt, true};
    });
    SourcePage page;
    for (auto i : indices) {
        page.builds.push_back(builds[i]);
    }
    page.more = filter.limit && indices.size() >= *filter.limit;
    return page;
}

TEST(BuildCursor, TextRoundTrips) {
    BuildSortKey key{1733230000000000, "build.example.org", 17};
    auto text = buildCursorText(key);
    EXPECT_EQ(text, "1733230000000000.build.example.org-17");
    EXPECT_EQ(parseBuildCursor(text), key);
}

TEST(BuildCursor, ForeignTextIsAQueryError) {
    for (const char* bad : {"", "17", "abc.a-1", "12.", "12.notanid", ".a-1", "-1.a-1"}) {
        EXPECT_THROW(parseBuildCursor(bad), QueryError) << bad;
    }
}

TEST(BuildCursor, OwnBuildIsAskedByIdOthersByTime) {
    auto q = pageQuery(true, 50);
    q.cursor = BuildSortKey{1000, "b", 7};
    auto own = agentFilterForPage(q, "b");
    EXPECT_EQ(std::get<std::string>(own.before), "b-7");
    EXPECT_EQ(own.limit, 50u);
    // "a" sorts before "b": a's build of the same microsecond is older.
    EXPECT_EQ(std::get<std::uint64_t>(agentFilterForPage(q, "a").before), 1001u);
    EXPECT_EQ(std::get<std::uint64_t>(agentFilterForPage(q, "c").before), 1000u);
    q.newestFirst = false;
    EXPECT_EQ(std::get<std::string>(agentFilterForPage(q, "b").after), "b-7");
    EXPECT_EQ(std::get<std::uint64_t>(agentFilterForPage(q, "a").after), 1000u);
    EXPECT_EQ(std::get<std::uint64_t>(agentFilterForPage(q, "c").after), 999u);
}

TEST(BuildCursor, FirstPageAsksForTheNewestOrTheOldest) {
    auto newest = agentFilterForPage(pageQuery(true, 20), "a");
    EXPECT_EQ(newest.before.index(), 0u);
    EXPECT_EQ(newest.after.index(), 0u);
    auto oldest = agentFilterForPage(pageQuery(false, 20), "a");
    EXPECT_EQ(std::get<std::uint64_t>(oldest.after), 0u);
}

TEST(BuildCursor, MergeTakesTheNewestAcrossHostsAndSaysWhereToGoOn) {
    auto q = pageQuery(true, 3);
    std::vector<SourcePage> sources(2);
    sources[0].builds = json::array({build("a", 1, 10), build("a", 2, 30), build("a", 3, 50)});
    sources[1].builds = json::array({build("b", 1, 20), build("b", 2, 40)});
    auto page = mergePages(std::move(sources), q);
    ASSERT_EQ(page.builds.size(), 3u);
    EXPECT_EQ(page.builds[0]["id"], "a-3");
    EXPECT_EQ(page.builds[1]["id"], "b-2");
    EXPECT_EQ(page.builds[2]["id"], "a-2");
    EXPECT_EQ(page.nextCursor, "30.a-2");
}

TEST(BuildCursor, LastPageHasNoCursor) {
    auto q = pageQuery(true, 10);
    std::vector<SourcePage> sources(1);
    sources[0].builds = json::array({build("a", 1, 10)});
    EXPECT_TRUE(mergePages(std::move(sources), q).nextCursor.is_null());
}

TEST(BuildCursor, BuildsNotAfterTheCursorAreDropped) {
    // An older peer that ignored the cursor sends its first page again.
    auto q = pageQuery(true, 10);
    q.cursor = BuildSortKey{30, "a", 2};
    std::vector<SourcePage> sources(1);
    sources[0].builds = json::array({build("a", 1, 10), build("a", 2, 30), build("a", 3, 50)});
    auto page = mergePages(std::move(sources), q);
    ASSERT_EQ(page.builds.size(), 1u);
    EXPECT_EQ(page.builds[0]["id"], "a-1");
}

// Three hosts, builds interleaved in time, some in the same microsecond:
// paging either way shows every build exactly once, in the fleet's order.
void walk(bool newestFirst, std::size_t limit) {
    std::map<std::string, std::vector<json>> hosts;
    std::vector<std::pair<BuildSortKey, std::string>> expected;
    std::uint64_t number[3] = {0, 0, 0};
    const char* names[3] = {"a", "b", "c"};
    for (std::uint64_t t = 1; t <= 40; ++t) {
        for (int h = 0; h < 3; ++h) {
            if ((t + h) % (h + 2) == 0 || t % 7 == 0) {  // t % 7: all three at once
                auto b = build(names[h], ++number[h], t * 100);
                expected.emplace_back(sortKeyOf(b), b["id"]);
                hosts[names[h]].push_back(b);
            }
        }
    }
    std::sort(expected.begin(), expected.end());
    if (newestFirst) {
        std::reverse(expected.begin(), expected.end());
    }
    std::vector<std::string> seen;
    auto q = pageQuery(newestFirst, limit);
    for (int pages = 0; pages < 1000; ++pages) {
        std::vector<SourcePage> sources;
        for (const auto& [host, builds] : hosts) {
            sources.push_back(agentPage(builds, agentFilterForPage(q, host)));
        }
        auto page = mergePages(std::move(sources), q);
        EXPECT_LE(page.builds.size(), limit);
        for (const auto& b : page.builds) {
            seen.push_back(b["id"]);
        }
        if (page.nextCursor.is_null()) {
            break;
        }
        q.cursor = parseBuildCursor(page.nextCursor.get<std::string>());
    }
    ASSERT_EQ(seen.size(), expected.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i], expected[i].second) << "at " << i;
    }
}

TEST(BuildCursor, WalkingNewestFirstShowsEveryBuildOnceInOrder) {
    walk(true, 7);
    walk(true, 1);
}

TEST(BuildCursor, WalkingOldestFirstShowsEveryBuildOnceInOrder) {
    walk(false, 7);
    walk(false, 1);
}

}  // namespace
}  // namespace imagebuild::forwarder
