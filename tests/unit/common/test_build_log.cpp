// The pure half of build_log: how the escaping readers (HTML, SSE) show a
// line's bytes, and the counts in notices. Reading, joining and the end of
// the log are covered by tests/system/test-logs.sh against a real journald.
#include <gtest/gtest.h>

#include <string>

#include "common/build_log.hpp"

using imagebuild::escapeLogText;

TEST(EscapeLogText, KeepsTextColoursAndTabs) {
    EXPECT_EQ(escapeLogText("plain text"), "plain text");
    EXPECT_EQ(escapeLogText("a\tb"), "a\tb");
    EXPECT_EQ(escapeLogText("\x1b[31mred\x1b[0m"), "\x1b[31mred\x1b[0m");
    EXPECT_EQ(escapeLogText("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(EscapeLogText, ControlBytesThatBreakFramingAreEscaped) {
    EXPECT_EQ(escapeLogText(std::string("x\0y", 3)), "x\\x00y");
    EXPECT_EQ(escapeLogText("a\rb\nc"), "a\\x0db\\x0ac");
    EXPECT_EQ(escapeLogText("del\x7f"), "del\\x7f");
    auto escaped = escapeLogText(std::string("\r\n\0\x01", 4));
    EXPECT_EQ(escaped.find_first_of(std::string("\r\n\0", 3)), std::string::npos);
}

TEST(EscapeLogText, InvalidUtf8IsEscapedBytePerByte) {
    EXPECT_EQ(escapeLogText("\xff\xfe bad"), "\\xff\\xfe bad");
    EXPECT_EQ(escapeLogText("\xc3"), "\\xc3");                             // cut short
    EXPECT_EQ(escapeLogText("\xc0\xaf"), "\\xc0\\xaf");                    // overlong
    EXPECT_EQ(escapeLogText("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
    EXPECT_EQ(escapeLogText("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
    EXPECT_EQ(escapeLogText("\xe2\x82x"), "\\xe2\\x82x");
}

TEST(EscapeLogText, LongLinesStayWhole) {
    std::string line(70000, 'a');
    EXPECT_EQ(escapeLogText(line), line);
}

TEST(WithThousands, GroupsDigits) {
    EXPECT_EQ(imagebuild::withThousands(0), "0");
    EXPECT_EQ(imagebuild::withThousands(999), "999");
    EXPECT_EQ(imagebuild::withThousands(1234), "1,234");
    EXPECT_EQ(imagebuild::withThousands(1000000), "1,000,000");
}

TEST(FormatShort, NoticesStandAlone) {
    imagebuild::LogLine line;
    line.notice = true;
    line.text = "-- imagebuild: journald suppressed 3 lines of this build here --";
    EXPECT_EQ(imagebuild::formatShort(line), line.text);
}
