// The follow hub's ring: finding a follower's last line by its cursor (the
// hand-over of a late follower from its own journal to the ring).
#include <gtest/gtest.h>

#include "forwarder/follow_build.hpp"

namespace imagebuild::forwarder {
namespace {

std::string cursorOf(std::uint64_t seqnum) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(seqnum));
    return std::string("s=0123abcd;i=") + hex + ";b=77;m=1;t=2;x=3";
}

RingLine lineAt(std::uint64_t seqnum) {
    RingLine line;
    line.seqnum = seqnum;
    line.cursor = cursorOf(seqnum);
    return line;
}

TEST(FollowRing, SeqnumOfACursor) {
    EXPECT_EQ(cursorSeqnum(cursorOf(0x1f4)), 0x1f4u);
    EXPECT_EQ(cursorSeqnum("s=0123abcd;i=ff;b=1"), 255u);
    EXPECT_EQ(cursorSeqnum("nonsense"), 0u);
}

TEST(FollowRing, FindsALineByItsCursorCountingDroppedLines) {
    FollowHub::Followed build("a-1");
    build.base = 100;  // 100 lines dropped before the ring's first
    for (std::uint64_t s : {10, 11, 15, 20}) {
        build.ring.push_back(lineAt(s));
    }
    RingLine notice;  // a notice carries the previous line's seqnum, no cursor
    notice.notice = true;
    notice.seqnum = 20;
    build.ring.push_back(notice);
    build.ring.push_back(lineAt(21));

    EXPECT_EQ(build.find(cursorOf(10)), std::optional<std::uint64_t>(100));
    EXPECT_EQ(build.find(cursorOf(20)), std::optional<std::uint64_t>(103));
    EXPECT_EQ(build.find(cursorOf(21)), std::optional<std::uint64_t>(105));
    EXPECT_EQ(build.end(), 106u);
    // Not in the ring: before it, after it, in a gap, another journal.
    EXPECT_FALSE(build.find(cursorOf(9)));
    EXPECT_FALSE(build.find(cursorOf(22)));
    EXPECT_FALSE(build.find(cursorOf(12)));
    EXPECT_FALSE(build.find("s=ffff;i=a;b=77;m=1;t=2;x=3"));
}

TEST(FollowRing, NearTheEndIsHalfARing) {
    FollowHub::Followed build("a-1");
    for (std::uint64_t s = 1; s <= 100; ++s) {
        build.ring.push_back(lineAt(s));
    }
    FollowLimits limits{100, 1 << 20};
    EXPECT_TRUE(build.nearTheEnd(100, limits));
    EXPECT_TRUE(build.nearTheEnd(50, limits));
    EXPECT_FALSE(build.nearTheEnd(49, limits));
}

}  // namespace
}  // namespace imagebuild::forwarder
