// LogBudget: so many lines a second, the rest counted and said with the
// next line that goes.
#include "forwarder/log_budget.hpp"

#include <gtest/gtest.h>

namespace imagebuild::forwarder {
namespace {

using namespace std::chrono_literals;

TEST(LogBudget, SoManyASecondTheRestCountedForTheNext) {
    LogBudget budget(3);
    auto start = LogBudget::Clock::now();
    std::uint64_t notLogged = 99;
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(budget.take(notLogged, start + std::chrono::milliseconds(i)));
        EXPECT_EQ(notLogged, 0u);
    }
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(budget.take(notLogged, start + 500ms));
    }
    EXPECT_TRUE(budget.take(notLogged, start + 1s));  // a new second
    EXPECT_EQ(notLogged, 5u);
    EXPECT_TRUE(budget.take(notLogged, start + 1s));
    EXPECT_EQ(notLogged, 0u);  // said once
}

TEST(LogBudget, TheSuffixSaysHowMany) {
    EXPECT_EQ(notLoggedSuffix(0), "");
    EXPECT_EQ(notLoggedSuffix(1234), " (1234 more like it were not logged)");
}

}  // namespace
}  // namespace imagebuild::forwarder
