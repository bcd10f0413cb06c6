// ListBuilds' filter as clients build it: what the agent is sent, and the
// same filter applied to a build the client already has.
#include <gtest/gtest.h>

#include "common/list_builds.hpp"

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
    EXPECT_EQ(toDbusFilter({{"failed"}, "", "", ""}).at("states").peekValueType(), "as");
}

TEST(ListBuildsFilter, MatchesLikeTheAgent) {
    auto b = build("running", "oemdrv", "x86_64", "40");
    EXPECT_TRUE(matches({}, b));
    EXPECT_TRUE(matches({{"queued", "running"}, "oemdrv", "x86_64", "40"}, b));
    EXPECT_FALSE(matches({{"queued"}, "", "", ""}, b));
    EXPECT_FALSE(matches({{}, "live", "", ""}, b));
    EXPECT_FALSE(matches({{}, "", "aarch64", ""}, b));
    EXPECT_FALSE(matches({{}, "", "", "41"}, b));
}
