#include "common/kickstart_text.hpp"

#include <gtest/gtest.h>

using namespace imagebuild::kickstart;
using namespace std::string_literals;

TEST(KickstartText, DecodesUniversalNewlines) {
    EXPECT_EQ(decodeKickstartText("a\r\nb\rc\n"), "a\nb\nc\n");
    EXPECT_EQ(decodeKickstartText("caf\xC3\xA9\n"), "caf\xC3\xA9\n");
}

TEST(KickstartText, RefusesNulAndNamesTheLine) {
    try {
        decodeKickstartText("lang en_US\r\nkeyboard\0us\n"s);
        FAIL() << "no error";
    } catch (const TextError& e) {
        EXPECT_EQ(e.line, 2u);
        EXPECT_STREQ(e.what(), "contains a NUL byte");
    }
}

TEST(KickstartText, RefusesInvalidUtf8LikePython) {
    const char* bad[] = {"\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"};
    for (const char* b : bad) {
        try {
            decodeKickstartText(std::string("ok\n\nx") + b + "\n");
            FAIL() << "accepted " << b;
        } catch (const TextError& e) {
            EXPECT_EQ(e.line, 3u);
            EXPECT_EQ(std::string(e.what()).rfind("is not valid UTF-8 (byte 0x", 0), 0u)
                << e.what();
        }
    }
    try {
        decodeKickstartText("\xFF");
    } catch (const TextError& e) {
        EXPECT_STREQ(e.what(), "is not valid UTF-8 (byte 0xff)");
    }
}

TEST(KickstartText, SplitsLinesWhereSplitlinesDoes) {
    auto lines = splitLines(
        "a\nb\vc\fd\x1c"
        "e\xC2\x85"
        "f\xE2\x80\xA8g\xE2\x80\xA9h");
    ASSERT_EQ(lines.size(), 8u);
    EXPECT_EQ(lines[0], "a\n");
    EXPECT_EQ(lines[4], "e\xC2\x85");
    EXPECT_EQ(lines[5], "f\xE2\x80\xA8");
    EXPECT_EQ(lines[7], "h");
    EXPECT_EQ(lineBreakLength(lines[5]), 3u);
    EXPECT_EQ(lineBreakLength(lines[7]), 0u);
    // U+00A0 and U+2000 are whitespace but not line breaks.
    EXPECT_EQ(splitLines("a\xC2\xA0"
                         "b\n")
                  .size(),
              1u);
}

TEST(KickstartText, WhitespaceIsPythonsUnicodeWhitespace) {
    EXPECT_EQ(lstripPy("\xC2\xA0\t\xE3\x80\x80%end\n"), "%end\n");
    EXPECT_EQ(stripPy("  %ksappend x \xE2\x80\x83\n"), "%ksappend x");
    EXPECT_EQ(firstWord("\xC2\xA0%include  a b\n"), "%include");
    EXPECT_TRUE(isBlankOrComment(" \x1f\n"));
    EXPECT_TRUE(isBlankOrComment("\t# comment\n"));
    EXPECT_TRUE(isBlankOrComment(""));
    EXPECT_FALSE(isBlankOrComment("x # comment\n"));
}

TEST(KickstartText, ShlexSplitsInPosixMode) {
    using V = std::vector<std::string>;
    EXPECT_EQ(shlexSplit("%include  'my file.ks'\n", true), (V{"%include", "my file.ks"}));
    EXPECT_EQ(shlexSplit("%include a.ks # note\n", true), (V{"%include", "a.ks"}));
    EXPECT_EQ(shlexSplit("%include a.ks#x\n", true), (V{"%include", "a.ks"}));
    EXPECT_EQ(shlexSplit("%include a.ks#x\n", false), (V{"%include", "a.ks#x"}));
    EXPECT_EQ(shlexSplit("\"%include\" b\n", true), (V{"%include", "b"}));
    EXPECT_EQ(shlexSplit("%inc\"lude\" b\n", true), (V{"%include", "b"}));
    EXPECT_EQ(shlexSplit("a\\ b \"c\\\"d\\e\" ''\n", false), (V{"a b", "c\"d\\e", ""}));
    EXPECT_EQ(shlexSplit("'a#b' #c\n", true), (V{"a#b"}));
    EXPECT_EQ(shlexSplit("   \n", true), (V{}));
}

TEST(KickstartText, ShlexErrorsAreShlexs) {
    EXPECT_THROW(
        {
            try {
                shlexSplit("%include \"a\n", false);
            } catch (const std::invalid_argument& e) {
                EXPECT_STREQ(e.what(), "No closing quotation");
                throw;
            }
        },
        std::invalid_argument);
    EXPECT_THROW(
        {
            try {
                shlexSplit("a \\", false);
            } catch (const std::invalid_argument& e) {
                EXPECT_STREQ(e.what(), "No escaped character");
                throw;
            }
        },
        std::invalid_argument);
}
