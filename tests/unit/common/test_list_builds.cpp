// ListBuilds' filter as clients build it: what the agent is sent, and the
// same filter applied to a build the client already has.
#include <gtest/gtest.h>

#include "common/list_builds.hpp"

// Filters are written with designated initializers: each test names the
// keys it sets, the rest stay unset on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace imagebuild;

namespace {

BuildInfo build(const std::string& state, const std::string& type, const std::string& arch,
                const std::string& release) {
    BuildInfo b;
    b.id = "h-1";
    b.host = "h";
    b.state = state;
    b.type = type;
    b.arch = arch;
    b.release = release;
    return b;
}

}  // namespace

TEST(ListBuildsFilter, OnlyTheSetKeysAreSent) {
    EXPECT_TRUE(toDbusFilter({}).empty());
    BuildListFilter filter;
    filter.states = {"queued", "running"};
    filter.arch = "aarch64";
    auto sent = toDbusFilter(filter);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent.at("states").get<std::vector<std::string>>(), filter.states);
    EXPECT_EQ(sent.at("arch").get<std::string>(), "aarch64");
    filter = {};
    filter.type = "oemdrv";
    filter.release = "41";
    sent = toDbusFilter(filter);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent.at("type").get<std::string>(), "oemdrv");
    EXPECT_EQ(sent.at("release").get<std::string>(), "41");
    // The signatures the agent checks each key against.
    EXPECT_EQ(sent.at("type").peekValueType(), "s");
    EXPECT_EQ(toDbusFilter({.states = {"failed"}}).at("states").peekValueType(), "as");
}

TEST(ListBuildsFilter, MatchesLikeTheAgent) {
    auto b = build("running", "oemdrv", "x86_64", "40");
    EXPECT_TRUE(matches({}, b));
    EXPECT_TRUE(matches(
        {.states = {"queued", "running"}, .type = "oemdrv", .arch = "x86_64", .release = "40"}, b));
    EXPECT_FALSE(matches({.states = {"queued"}}, b));
    EXPECT_FALSE(matches({.type = "live"}, b));
    EXPECT_FALSE(matches({.arch = "aarch64"}, b));
    EXPECT_FALSE(matches({.release = "41"}, b));
    b.submitterUid = 1000;
    EXPECT_TRUE(matches({.submitterUid = 1000}, b));
    EXPECT_FALSE(matches({.submitterUid = 0}, b));
}

TEST(ListBuildsFilter, TheAgentReadsWhatClientsSend) {
    BuildListFilter sent{.states = {"failed"},
                         .arch = "aarch64",
                         .submitterUid = 7,
                         .limit = 50,
                         .before = std::string("h-90"),
                         .after = std::uint64_t{1234}};
    auto read = filterFromDbus(toDbusFilter(sent));
    EXPECT_EQ(read.states, sent.states);
    EXPECT_EQ(read.arch, "aarch64");
    EXPECT_EQ(read.submitterUid, 7u);
    EXPECT_EQ(read.limit, 50u);
    EXPECT_EQ(std::get<std::string>(read.before), "h-90");
    EXPECT_EQ(std::get<std::uint64_t>(read.after), 1234u);
    EXPECT_EQ(toDbusFilter(sent).at("limit").peekValueType(), "u");
    EXPECT_EQ(toDbusFilter(sent).at("after").peekValueType(), "t");
}

TEST(ListBuildsFilter, ABadFilterIsRefusedWithItsKey) {
    std::map<std::string, sdbus::Variant> filter{{"colour", sdbus::Variant(std::string("red"))}};
    EXPECT_THROW(filterFromDbus(filter), FilterError);
    filter = {{"limit", sdbus::Variant(std::string("50"))}};
    EXPECT_THROW(filterFromDbus(filter), FilterError);
    filter = {{"before", sdbus::Variant(std::string("../x"))}};
    EXPECT_THROW(filterFromDbus(filter), FilterError);
    filter = {{"before", sdbus::Variant(std::int32_t{3})}};
    EXPECT_THROW(filterFromDbus(filter), FilterError);
}

namespace {

// Builds h-1 .. h-count, submitted at 1000*n; odd ones match. Each page
// is asked both without telling the order of the rows (a walk) and telling
// it (bisection to the cursors): the answers must be the same.
std::vector<std::size_t> page(const BuildListFilter& filter, std::size_t count = 10) {
    auto at = [](std::size_t i) {
        std::uint64_t n = i + 1;
        return PageProbe{n, 1000 * n, n % 2 == 1};
    };
    auto walked = selectPage(filter, count, at);
    EXPECT_EQ(selectPage(filter, count, at, RowOrder{true, true}), walked);
    EXPECT_EQ(selectPage(filter, count, at, RowOrder{true, false}), walked);
    EXPECT_EQ(selectPage(filter, count, at, RowOrder{false, true}), walked);
    return walked;
}

std::vector<std::size_t> numbers(std::initializer_list<std::size_t> n) {
    std::vector<std::size_t> indices;
    for (auto v : n) {
        indices.push_back(v - 1);
    }
    return indices;
}

}  // namespace

TEST(ListBuildsPaging, WithoutALimitEveryMatchingRowOldestFirst) {
    EXPECT_EQ(page({}), numbers({1, 3, 5, 7, 9}));
    EXPECT_EQ(page({.before = std::string("h-6")}), numbers({1, 3, 5}));
    EXPECT_EQ(page({.after = std::string("h-6")}), numbers({7, 9}));
}

TEST(ListBuildsPaging, ALimitGivesTheNewestPageInOrder) {
    EXPECT_EQ(page({.limit = 2}), numbers({7, 9}));
    EXPECT_EQ(page({.limit = 0}), numbers({}));
    EXPECT_EQ(page({.limit = 100}), numbers({1, 3, 5, 7, 9}));
}

TEST(ListBuildsPaging, BeforeWalksToOlderPagesUntilNoneIsLeft) {
    EXPECT_EQ(page({.limit = 2, .before = std::string("h-7")}), numbers({3, 5}));
    EXPECT_EQ(page({.limit = 2, .before = std::string("h-3")}), numbers({1}));
    EXPECT_EQ(page({.limit = 2, .before = std::string("h-1")}), numbers({}));
    // By time: the same pages, for callers merging several hosts.
    EXPECT_EQ(page({.limit = 2, .before = std::uint64_t{7000}}), numbers({3, 5}));
    EXPECT_EQ(page({.limit = 2, .before = std::uint64_t{7001}}), numbers({5, 7}));
}

TEST(ListBuildsPaging, AfterGivesTheOldestPageNewerThanIt) {
    EXPECT_EQ(page({.limit = 2, .after = std::string("h-2")}), numbers({3, 5}));
    EXPECT_EQ(page({.limit = 2, .after = std::string("h-9")}), numbers({}));
    // Both: a window, newest end first.
    EXPECT_EQ(page({.limit = 2, .before = std::string("h-9"), .after = std::string("h-2")}),
              numbers({5, 7}));
    EXPECT_EQ(page({.limit = 5, .before = std::string("h-9"), .after = std::string("h-4")}),
              numbers({5, 7}));
}

TEST(ListBuildsPaging, AFullPageStopsTheWalk) {
    std::size_t asked = 0;
    auto rows = selectPage({.limit = 3}, 10000, [&asked](std::size_t i) {
        ++asked;
        return PageProbe{i + 1, 0, true};
    });
    EXPECT_EQ(rows.size(), 3u);
    EXPECT_EQ(asked, 3u);
}

// A page at a cursor in rows known to be in its order costs the page and a
// bisection, not a walk from an end of the history to the cursor.
TEST(ListBuildsPaging, APageAtACursorIsFoundWithoutAWalk) {
    std::size_t asked = 0;
    auto at = [&asked](std::size_t i) {
        ++asked;
        std::uint64_t n = i + 1;
        return PageProbe{n, 1000 * n, true};
    };
    constexpr std::size_t kRows = 10000;
    auto rows =
        selectPage({.limit = 3, .after = std::string("h-9000")}, kRows, at, RowOrder{true, true});
    EXPECT_EQ(rows, (std::vector<std::size_t>{9000, 9001, 9002}));
    EXPECT_LE(asked, 3u + 15u);  // log2(10,000) < 14
    asked = 0;
    rows = selectPage({.limit = 2, .before = std::uint64_t{1000 * 100}}, kRows, at,
                      RowOrder{true, true});
    EXPECT_EQ(rows, (std::vector<std::size_t>{97, 98}));
    EXPECT_LE(asked, 2u + 15u);
    // Times not known to ascend (the clock was set back once): walked.
    asked = 0;
    rows = selectPage({.limit = 2, .before = std::uint64_t{1000 * 100}}, kRows, at,
                      RowOrder{true, false});
    EXPECT_EQ(rows, (std::vector<std::size_t>{97, 98}));
    EXPECT_GT(asked, kRows / 2);
}

namespace {

BuildListRow listRow(std::uint64_t n, const std::string& state) {
    BuildListRow row;
    row.get<0>() = "h-" + std::to_string(n);
    row.get<1>() = "oemdrv";
    row.get<6>() = state;
    row.get<9>() = 1000 * n;
    return row;
}

std::vector<std::string> idsOf(const BuildListFilter& filter,
                               const std::vector<BuildListRow>& rows) {
    std::vector<std::string> ids;
    pageOfRows(filter, rows, [&ids](const BuildListRow& row) { ids.push_back(row.get<0>()); });
    return ids;
}

}  // namespace

// What a client does with a whole list it kept (the forwarder's cache):
// the page the agent would have answered, keys and limit and cursors.
TEST(ListBuildsPaging, AKeptListAnswersPagesAsTheAgentDoes) {
    std::vector<BuildListRow> rows;
    for (std::uint64_t n = 1; n <= 6; ++n) {
        rows.push_back(listRow(n, n == 6 ? "running" : "succeeded"));
    }
    using Ids = std::vector<std::string>;
    EXPECT_EQ(idsOf({}, rows).size(), 6u);
    EXPECT_EQ(idsOf({.limit = 2}, rows), (Ids{"h-5", "h-6"}));
    EXPECT_EQ(idsOf({.limit = 2, .after = std::string("h-1")}, rows), (Ids{"h-2", "h-3"}));
    EXPECT_EQ(idsOf({.limit = 2, .before = std::string("h-3")}, rows), (Ids{"h-1", "h-2"}));
    EXPECT_EQ(idsOf({.limit = 3, .after = std::uint64_t{4000}}, rows), (Ids{"h-5", "h-6"}));
    EXPECT_EQ(idsOf({.states = {"succeeded"}, .limit = 1}, rows), (Ids{"h-5"}));
    EXPECT_EQ(idsOf({.states = {"running"}}, rows), (Ids{"h-6"}));
    EXPECT_EQ(idsOf({.type = "other", .limit = 5}, rows), (Ids{}));
}
