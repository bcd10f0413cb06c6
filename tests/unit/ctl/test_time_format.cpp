// Durations and timestamps as imagebuildctl prints them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "ctl/table.hpp"
#include "ctl/terminal.hpp"
#include "ctl/time_format.hpp"

using namespace imagebuild::ctl;

TEST(CtlTimeFormat, Durations) {
    EXPECT_EQ(formatDuration(350'000), "350ms");
    EXPECT_EQ(formatDuration(42'000'000), "42s");
    EXPECT_EQ(formatDuration(185'000'000), "3min 5s");
    EXPECT_EQ(formatDuration(2ull * 3600'000'000 + 240'000'000), "2h 4min");
    EXPECT_EQ(formatDuration(3ull * 86400'000'000 + 7200'000'000), "3d 2h");
    EXPECT_EQ(buildDuration(0, 0, 99), "-");
    EXPECT_EQ(buildDuration(1'000'000, 4'000'000, 99), "3s");
    EXPECT_EQ(buildDuration(1'000'000, 0, 11'000'000), "10s");  // still running
}

TEST(CtlTimeFormat, TimestampsInTheLocalZone) {
    setenv("TZ", "UTC", 1);
    tzset();
    EXPECT_EQ(formatTimestamp(0), "-");
    EXPECT_EQ(formatTimestamp(1'700'000'000'000'000ull), "Tue 2023-11-14 22:13:20 UTC");
}
