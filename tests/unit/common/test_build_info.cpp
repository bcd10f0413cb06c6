// A build's record read from D-Bus properties and from a list row.
#include <gtest/gtest.h>

#include "common/build_info.hpp"
#include "common/build_json.hpp"

using imagebuild::BuildInfo;

TEST(BuildInfo, FromDbusPropertiesTakesKnownKeysAndDerivesHost) {
    std::map<std::string, sdbus::Variant> props{
        {"Id", sdbus::Variant(std::string("build-b-12"))},
        {"State", sdbus::Variant(std::string("running"))},
        {"StartedAt", sdbus::Variant(std::uint64_t{5})},
        {"Submitter", sdbus::Variant(std::string("alice"))},
        {"SomethingNewer", sdbus::Variant(std::string("ignored"))},
        {"ExitStatus", sdbus::Variant(std::string("wrong type keeps default"))},
    };
    auto info = imagebuild::buildInfoFromProperties(props);
    EXPECT_EQ(info.host, "build-b");
    EXPECT_EQ(info.state, "running");
    EXPECT_EQ(info.startedAt, 5u);
    EXPECT_EQ(info.submitter, "alice");
    EXPECT_EQ(info.exitStatus, -1);
    EXPECT_TRUE(imagebuild::isFinalState("timed-out"));
    EXPECT_FALSE(imagebuild::isFinalState("running"));
}

TEST(BuildInfo, FromListRowTakesTheSubmitterAfterTheName) {
    imagebuild::BuildListRow row(
        "b-4", "oemdrv", "x86_64", "40", "nightly", "alice", "failed", "failed", 998u, 10u, 11u, 0u,
        sdbus::ObjectPath("/org/imagebuild/Agent1/build/b_2d4"), "b-3", "infra", 7, 9u);
    auto info = imagebuild::buildInfoFromListRow(row);
    EXPECT_EQ(info.host, "b");
    EXPECT_EQ(info.name, "nightly");
    EXPECT_EQ(info.submitter, "alice");
    EXPECT_EQ(info.state, "failed");
    EXPECT_EQ(info.failureClass, "infra");
    EXPECT_EQ(info.submitterUid, 998u);
    EXPECT_EQ(info.submittedAt, 10u);
    EXPECT_EQ(info.startedAt, 11u);
    EXPECT_EQ(info.finishedAt, 0u);
    EXPECT_EQ(info.retryOf, "b-3");
    EXPECT_EQ(info.priority, 7);
    EXPECT_EQ(info.stalledSince, 9u);
    nlohmann::json j = info;
    EXPECT_EQ(j["priority"], 7);
    EXPECT_EQ(j["stalled"], true);
    EXPECT_EQ(j["stalled_since"], 9u);
}
