#include "common/sha256.hpp"

#include <gtest/gtest.h>

namespace imagebuild {
namespace {

// FIPS 180-2's examples.
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, DigestsOfKnownTexts) {
    EXPECT_EQ(sha256Hex(""), kEmpty);
    EXPECT_EQ(sha256Hex("abc"), kAbc);
    EXPECT_EQ(sha256Hex(std::string(1000000, 'a')), kMillionA);
}

TEST(Sha256, StreamedInPiecesIsTheSameDigest) {
    Sha256 streamed;
    std::string piece(999, 'a');  // not a multiple of the 64-byte block
    for (int i = 0; i < 1000; ++i) {
        streamed.update(piece);
    }
    streamed.update(std::string(1000, 'a'));
    EXPECT_EQ(streamed.finishHex(), kMillionA);

    Sha256 nothing;
    EXPECT_EQ(nothing.finishHex(), kEmpty);
}

TEST(Sha256, EqualInConstantTimeComparesWholeStrings) {
    EXPECT_TRUE(equalInConstantTime(kAbc, kAbc));
    EXPECT_TRUE(equalInConstantTime("", ""));
    std::string lastDiffers(kAbc);
    lastDiffers.back() = 'e';
    EXPECT_FALSE(equalInConstantTime(kAbc, lastDiffers));
    std::string firstDiffers(kAbc);
    firstDiffers.front() = 'a';
    EXPECT_FALSE(equalInConstantTime(kAbc, firstDiffers));
    EXPECT_FALSE(equalInConstantTime(kAbc, std::string(kAbc).substr(1)));
}

}  // namespace
}  // namespace imagebuild
