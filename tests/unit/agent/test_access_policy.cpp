// The polkit questions of each request, as the rules and the log see them:
// which actions, in which order, with which details.
#include "agent/access_policy.hpp"

#include <gtest/gtest.h>

using namespace imagebuild;
using namespace imagebuild::agent;

namespace {

using Details = std::map<std::string, std::string>;

BuildSpec specOf(std::int32_t priority = 0, std::optional<std::string> submitter = {}) {
    BuildSpec spec;
    spec.type = "oemdrv";
    spec.arch = "x86_64";
    spec.release = "40";
    spec.priority = priority;
    spec.submitter = std::move(submitter);
    return spec;
}

std::vector<std::string> actionsOf(const Authorizations& chain) {
    std::vector<std::string> out;
    for (const auto& a : chain) {
        out.emplace_back(a.action);
    }
    return out;
}

}  // namespace

TEST(AccessPolicy, SubmitAsksSubmitWithWhatIsBuilt) {
    auto chain = access::submit(1000, specOf());
    ASSERT_EQ(chain.size(), 1u);
    EXPECT_STREQ(chain[0].action, action::kSubmit);
    EXPECT_EQ(
        chain[0].details,
        (Details{{"verb", "submit"}, {"type", "oemdrv"}, {"arch", "x86_64"}, {"release", "40"}}));
    EXPECT_EQ(chain[0].what, "submit by uid 1000");
}

TEST(AccessPolicy, SubmitInAnothersNameAsksThatFirstAndAPriorityLast) {
    auto chain = access::submit(1000, specOf(5, "alice"));
    EXPECT_EQ(actionsOf(chain),
              (std::vector<std::string>{action::kSubmitFor, action::kSubmit, action::kManage}));
    EXPECT_EQ(chain[0].details, (Details{{"verb", "submit"}, {"submitter", "alice"}}));
    EXPECT_EQ(chain[0].what, "submit by uid 1000 in the name of \"alice\"");
    EXPECT_EQ(chain[2].details, (Details{{"verb", "priority"}, {"priority", "5"}}));
    EXPECT_EQ(chain[2].what, "priority 5 asked by uid 1000");
}

TEST(AccessPolicy, APriorityUpToNormalAsksNothingMore) {
    EXPECT_EQ(actionsOf(access::submit(1000, specOf(-100))),
              std::vector<std::string>{action::kSubmit});
    EXPECT_EQ(actionsOf(access::submit(1000, specOf(0))),
              std::vector<std::string>{action::kSubmit});
}

TEST(AccessPolicy, RetryOfOnesOwnBuildIsASubmitOfAnothersManage) {
    auto own = access::retry(1000, "h-7", 1000, specOf(), std::nullopt);
    ASSERT_EQ(own.size(), 1u);
    EXPECT_STREQ(own[0].action, action::kSubmit);
    EXPECT_EQ(own[0].details, (Details{{"verb", "retry"},
                                       {"id", "h-7"},
                                       {"type", "oemdrv"},
                                       {"arch", "x86_64"},
                                       {"release", "40"}}));
    EXPECT_EQ(own[0].what, "retry of h-7 by uid 1000");
    auto others = access::retry(1000, "h-7", 1001, specOf(), std::nullopt);
    ASSERT_EQ(others.size(), 1u);
    EXPECT_STREQ(others[0].action, action::kManage);
}

TEST(AccessPolicy, RetryInANamedSubmittersNameAsksThatFirstAndItsPriorityAgain) {
    // The spec's own submitter (the old build's) is not a name asked for.
    auto chain = access::retry(1000, "h-7", 1000, specOf(3, "old"), "bob");
    EXPECT_EQ(actionsOf(chain),
              (std::vector<std::string>{action::kSubmitFor, action::kSubmit, action::kManage}));
    EXPECT_EQ(chain[0].details, (Details{{"verb", "retry"}, {"id", "h-7"}, {"submitter", "bob"}}));
    EXPECT_EQ(chain[0].what, "retry of h-7 by uid 1000 in the name of \"bob\"");
    EXPECT_EQ(chain[2].what, "priority 3 asked by uid 1000");
    EXPECT_EQ(actionsOf(access::retry(1000, "h-7", 1000, specOf(0, "old"), std::nullopt)),
              std::vector<std::string>{action::kSubmit});
}

TEST(AccessPolicy, CancelAndPinAreTheOwnersCancelAndAnyoneElsesManage) {
    auto cancel = access::cancel(1000, "h-7", 1000);
    ASSERT_EQ(cancel.size(), 1u);
    EXPECT_STREQ(cancel[0].action, action::kCancel);
    EXPECT_EQ(cancel[0].details, (Details{{"verb", "cancel"}, {"id", "h-7"}}));
    EXPECT_EQ(cancel[0].what, "cancel of h-7");
    EXPECT_STREQ(access::cancel(0, "h-7", 1000)[0].action, action::kManage);

    auto unpin = access::pin(1001, "h-7", 1000, false);
    ASSERT_EQ(unpin.size(), 1u);
    EXPECT_STREQ(unpin[0].action, action::kManage);
    EXPECT_EQ(unpin[0].details, (Details{{"verb", "unpin"}, {"id", "h-7"}}));
    EXPECT_EQ(unpin[0].what, "unpin of h-7");
    auto pin = access::pin(1000, "h-7", 1000, true);
    EXPECT_STREQ(pin[0].action, action::kCancel);
    EXPECT_EQ(pin[0].what, "pin of h-7");
}

TEST(AccessPolicy, CleanupIsManage) {
    auto chain = access::cleanup(1000);
    ASSERT_EQ(chain.size(), 1u);
    EXPECT_STREQ(chain[0].action, action::kManage);
    EXPECT_EQ(chain[0].details, (Details{{"verb", "cleanup"}}));
    EXPECT_EQ(chain[0].what, "cleanup by uid 1000");
}

TEST(AccessPolicy, AKickstartIsItsSubmittersWithoutAQuestion) {
    EXPECT_TRUE(access::readKickstart(1000, "h-7", 1000).empty());
    auto chain = access::readKickstart(1001, "h-7", 1000);
    ASSERT_EQ(chain.size(), 1u);
    EXPECT_STREQ(chain[0].action, action::kManage);
    EXPECT_EQ(chain[0].details, (Details{{"verb", "kickstart"}, {"id", "h-7"}}));
    EXPECT_EQ(chain[0].what, "kickstart of h-7 read by uid 1001");
}
