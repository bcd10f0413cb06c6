#include "forwarder/list_source.hpp"

#include <gtest/gtest.h>

namespace imagebuild::forwarder {
namespace {

BuildListFilter pageOf(std::uint32_t limit) {
    BuildListFilter filter;
    filter.limit = limit;
    return filter;
}

BuildListFilter pageBefore(const std::string& id) {
    BuildListFilter filter;
    filter.before = id;
    return filter;
}

BuildListFilter ofState(const std::string& state) {
    BuildListFilter filter;
    filter.states = {state};
    return filter;
}

TEST(ListSource, APageWithNoKeptListIsAskedOfTheAgentAtOnce) {
    EXPECT_EQ(sourceBeforeCheck(pageOf(50), false), ListSource::AgentPage);
    EXPECT_EQ(sourceBeforeCheck(pageBefore("h-7"), false), ListSource::AgentPage);
}

TEST(ListSource, APageWithAKeptListChecksItFirst) {
    EXPECT_EQ(sourceBeforeCheck(pageOf(50), true), ListSource::CheckKeptRows);
}

TEST(ListSource, AWholeOrFilteredListAlwaysChecksTheKeptList) {
    // A whole list read now is kept; so it is worth the round trip even
    // when nothing is kept yet.
    EXPECT_EQ(sourceBeforeCheck(BuildListFilter{}, false), ListSource::CheckKeptRows);
    EXPECT_EQ(sourceBeforeCheck(ofState("running"), false), ListSource::CheckKeptRows);
}

TEST(ListSource, ATrueKeptListAnswersAnyFilter) {
    EXPECT_EQ(sourceWithRows(BuildListFilter{}, true), ListSource::KeptRows);
    EXPECT_EQ(sourceWithRows(pageOf(50), true), ListSource::KeptRows);
    EXPECT_EQ(sourceWithRows(ofState("queued"), true), ListSource::KeptRows);
}

TEST(ListSource, WithoutATrueListOnlyTheWholeListIsReadAndKept) {
    EXPECT_EQ(sourceWithRows(BuildListFilter{}, false), ListSource::ReadAllAndKeep);
    EXPECT_EQ(sourceWithRows(ofState("queued"), false), ListSource::AgentFiltered);
    EXPECT_EQ(sourceWithRows(pageOf(50), false), ListSource::AgentFiltered);
}

}  // namespace
}  // namespace imagebuild::forwarder
