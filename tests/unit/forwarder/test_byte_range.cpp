// Range headers parsed against a file's size: one range, or the whole file.
#include "forwarder/byte_range.hpp"

#include <gtest/gtest.h>

using namespace imagebuild::forwarder;
using Kind = ByteRange::Kind;

TEST(ForwarderByteRange, SingleRanges) {
    auto r = parseByteRange("bytes=0-99", 1000);
    EXPECT_EQ(r.kind, Kind::Partial);
    EXPECT_EQ(r.first, 0u);
    EXPECT_EQ(r.last, 99u);
    EXPECT_EQ(r.length(), 100u);
    r = parseByteRange("bytes=900-", 1000);
    EXPECT_EQ(r.first, 900u);
    EXPECT_EQ(r.last, 999u);
    r = parseByteRange("bytes=-10", 1000);
    EXPECT_EQ(r.first, 990u);
    EXPECT_EQ(r.last, 999u);
    r = parseByteRange("bytes=-5000", 1000);  // more than the file: all of it
    EXPECT_EQ(r.first, 0u);
    r = parseByteRange("bytes=500-5000", 1000);  // clamped to the end
    EXPECT_EQ(r.last, 999u);
}

TEST(ForwarderByteRange, UnsatisfiableRanges) {
    EXPECT_EQ(parseByteRange("bytes=1000-", 1000).kind, Kind::Unsatisfiable);
    EXPECT_EQ(parseByteRange("bytes=-0", 1000).kind, Kind::Unsatisfiable);
    EXPECT_EQ(parseByteRange("bytes=0-", 0).kind, Kind::Unsatisfiable);
}

TEST(ForwarderByteRange, MalformedOrMultipleMeansWholeFile) {
    for (const char* h :
         {"", "bytes", "bytes=", "bytes=a-b", "bytes=5-2", "items=0-1", "bytes=0-1,5-6",
          "bytes=--1", "bytes=1-2-3", "bytes=18446744073709551616-"}) {
        EXPECT_EQ(parseByteRange(h, 1000).kind, Kind::Whole) << h;
    }
}
