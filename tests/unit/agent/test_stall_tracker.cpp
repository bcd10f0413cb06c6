// The stall bookkeeping of the watcher, driven with made-up times.
#include "agent/stall_tracker.hpp"

#include <gtest/gtest.h>

using imagebuild::agent::stallReason;
using imagebuild::agent::StallTracker;

namespace {
constexpr std::uint64_t kSec = 1'000'000;
}

TEST(StallTracker, SilenceForTheTimeoutStallsOnceAndANewLineClearsIt) {
    StallTracker t;
    t.watch("h-1", 100 * kSec, 60 * kSec);
    EXPECT_EQ(t.nextDue(), 160 * kSec);
    EXPECT_TRUE(t.expire(159 * kSec).empty());
    auto stalled = t.expire(160 * kSec);
    ASSERT_EQ(stalled.size(), 1u);
    EXPECT_EQ(stalled[0].first, "h-1");
    EXPECT_EQ(stalled[0].second, 100 * kSec);   // silent since its last line
    EXPECT_TRUE(t.expire(500 * kSec).empty());  // said once
    EXPECT_FALSE(t.nextDue().has_value());
    EXPECT_FALSE(t.line("h-1", 90 * kSec));  // an old line read again changes nothing
    EXPECT_TRUE(t.line("h-1", 501 * kSec));
    EXPECT_EQ(t.nextDue(), 561 * kSec);
}

TEST(StallTracker, ALineBeforeTheTimeoutPutsTheStallOff) {
    StallTracker t;
    t.watch("h-1", 0, 60 * kSec);
    t.watch("h-2", 10 * kSec, 30 * kSec);
    EXPECT_EQ(t.nextDue(), 40 * kSec);
    EXPECT_FALSE(t.line("h-2", 35 * kSec));
    EXPECT_EQ(t.nextDue(), 60 * kSec);
    EXPECT_EQ(t.oldestLastLine(), 0u);
    t.unwatch("h-1");
    EXPECT_EQ(t.nextDue(), 65 * kSec);
    EXPECT_FALSE(t.line("h-9", 1));  // not followed
}

TEST(StallTracker, AStallTheRecordCarriesIsKept) {
    StallTracker t;
    t.watch("h-1", 100 * kSec, 60 * kSec, 100 * kSec);
    EXPECT_TRUE(t.expire(1000 * kSec).empty());
    EXPECT_TRUE(t.line("h-1", 1001 * kSec));
}

TEST(StallTracker, ReasonSaysHowLongInWords) {
    EXPECT_EQ(stallReason(30 * 60 * kSec + 400000), "stalled for 30 min");
    EXPECT_EQ(stallReason(45 * kSec), "stalled for 45 s");
    EXPECT_EQ(stallReason(2 * 3600 * kSec), "stalled for 2 h");
    EXPECT_EQ(stallReason(3900 * kSec), "stalled for 1 h 5 min");
}
