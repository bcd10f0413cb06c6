#include "common/build_id.hpp"

#include <gtest/gtest.h>

using imagebuild::BuildId;

TEST(BuildId, RoundTrips) {
    auto id = BuildId::parse("build-a.example.org-42");
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(id->host, "build-a.example.org");
    EXPECT_EQ(id->number, 42u);
    EXPECT_EQ(id->str(), "build-a.example.org-42");
}

TEST(BuildId, RejectsPathLikeAndMalformedIds) {
    for (const char* bad : {"", "-1", "host-", "host", "../x-1", "a/b-1", "host-01", "host-1x",
                            "host--1", ".host-1", "host-99999999999999999999", "ho st-1"}) {
        EXPECT_FALSE(BuildId::parse(bad).has_value()) << bad;
    }
}

TEST(BuildId, ObjectPathIsEscapedAndReversible) {
    auto path = imagebuild::buildObjectPath("host-a-7");
    EXPECT_EQ(path, "/org/imagebuild/Agent1/build/host_2da_2d7");
    EXPECT_EQ(imagebuild::buildIdFromObjectPath(path), "host-a-7");
    EXPECT_FALSE(imagebuild::buildIdFromObjectPath("/org/other/x").has_value());
}
