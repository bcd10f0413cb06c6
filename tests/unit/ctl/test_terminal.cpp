// Whether imagebuildctl colours its output and which pager it runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "ctl/table.hpp"
#include "ctl/terminal.hpp"
#include "ctl/time_format.hpp"

using namespace imagebuild::ctl;

TEST(CtlTerminal, ColorsOnlyOnATtyWithoutNoColor) {
    EXPECT_TRUE(colorsWanted(true, nullptr, "xterm"));
    EXPECT_FALSE(colorsWanted(false, nullptr, "xterm"));
    EXPECT_FALSE(colorsWanted(true, "1", "xterm"));
    EXPECT_TRUE(colorsWanted(true, "", "xterm"));  // NO_COLOR set but empty: no effect
    EXPECT_FALSE(colorsWanted(true, nullptr, "dumb"));
}

TEST(CtlTerminal, PagerChoice) {
    EXPECT_EQ(pagerCommand(nullptr, nullptr), "less");
    EXPECT_EQ(pagerCommand(nullptr, "more"), "more");
    EXPECT_EQ(pagerCommand("most", "more"), "most");
    EXPECT_EQ(pagerCommand("cat", "more"), "");
    EXPECT_EQ(pagerCommand("", "more"), "");
}
