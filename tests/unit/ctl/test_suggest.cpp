// "Did you mean": the closest verb or option to a mistyped one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/exit_codes.hpp"
#include "ctl/arguments.hpp"
#include "ctl/suggest.hpp"

using namespace imagebuild;
using namespace imagebuild::ctl;
using ::testing::HasSubstr;

TEST(CtlSuggest, EditDistanceCountsTranspositionsOnce) {
    EXPECT_EQ(editDistance("list", "list"), 0u);
    EXPECT_EQ(editDistance("lsit", "list"), 1u);
    EXPECT_EQ(editDistance("cancle", "cancel"), 1u);
    EXPECT_EQ(editDistance("", "abc"), 3u);
}

TEST(CtlSuggest, ClosestMatchOnlyWhenClose) {
    std::vector<std::string> verbs{"build", "list", "log", "status", "show", "wait", "cancel"};
    EXPECT_EQ(closestMatch("lst", verbs), "list");
    EXPECT_EQ(closestMatch("canc", verbs), "cancel");  // unique prefix
    EXPECT_EQ(closestMatch("xyzzy", verbs), std::nullopt);
}
