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
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(budget.take(start + std::chrono::milliseconds(i)),
                  std::optional<std::string>(""));
    }
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(budget.take(start + 500ms), std::nullopt);
    }
    // A new second: the next line says how many were not logged, once.
    EXPECT_EQ(budget.take(start + 1s), notLoggedSuffix(5));
    EXPECT_EQ(budget.take(start + 1s), std::optional<std::string>(""));
}

TEST(LogBudget, TheSuffixSaysHowMany) {
    EXPECT_EQ(notLoggedSuffix(0), "");
    EXPECT_EQ(notLoggedSuffix(1234), " (1234 more like it were not logged)");
}

}  // namespace
}  // namespace imagebuild::forwarder
