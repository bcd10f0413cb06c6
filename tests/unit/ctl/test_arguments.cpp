#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/exit_codes.hpp"
#include "ctl/arguments.hpp"
#include "ctl/suggest.hpp"

using namespace imagebuild;
using namespace imagebuild::ctl;
using ::testing::HasSubstr;

namespace {

ParseOutcome parse(std::vector<std::string> args) {
    return parseArguments(args);
}

Invocation ok(std::vector<std::string> args) {
    auto outcome = parse(std::move(args));
    EXPECT_TRUE(outcome.invocation) << outcome.err;
    EXPECT_EQ(outcome.exitCode, kExitOk);
    return outcome.invocation.value_or(Invocation{});
}

}  // namespace

TEST(CtlArguments, BuildWithKickstartAndEveryOption) {
    auto inv = ok(
        {"build",     "ks.cfg", "--type",  "oemdrv",   "--arch",        "x86_64",   "--release",
         "39",        "--name", "demo",    "--notify", "a@example.org", "--notify", "b@example.org",
         "--timeout", "600",    "--label", "team=qa",  "--label",       "ticket=7", "--follow"});
    EXPECT_EQ(inv.verb, Verb::kBuild);
    EXPECT_EQ(inv.build.kickstart, "ks.cfg");
    EXPECT_EQ(inv.build.type, "oemdrv");
    EXPECT_EQ(inv.build.arch, "x86_64");
    EXPECT_EQ(inv.build.release, "39");
    EXPECT_EQ(inv.build.name, "demo");
    EXPECT_THAT(inv.build.notify, ::testing::ElementsAre("a@example.org", "b@example.org"));
    EXPECT_EQ(inv.build.timeoutSec, 600u);
    EXPECT_THAT(inv.build.labels, ::testing::ElementsAre("team=qa", "ticket=7"));
    EXPECT_TRUE(inv.build.follow);
    EXPECT_FALSE(inv.build.wait);
}

TEST(CtlArguments, BuildNeedsTypeArchReleaseWithAKickstart) {
    auto outcome = parse({"build", "ks.cfg", "--type", "oemdrv", "--arch", "x86_64"});
    EXPECT_FALSE(outcome.invocation);
    EXPECT_EQ(outcome.exitCode, kExitUsage);
    EXPECT_THAT(outcome.err, HasSubstr("--release is required"));
}

TEST(CtlArguments, BuildNeedsAKickstartOrAConfig) {
    auto outcome = parse({"build", "--type", "oemdrv"});
    EXPECT_EQ(outcome.exitCode, kExitUsage);
    EXPECT_THAT(outcome.err, HasSubstr("--config"));
}

TEST(CtlArguments, BuildFromLegacyConfigNeedsNoTypeFlags) {
    auto inv = ok({"build", "--config", "imagebuild.conf", "--wait"});
    EXPECT_EQ(inv.build.config, "imagebuild.conf");
    EXPECT_TRUE(inv.build.wait);
}

TEST(CtlArguments, WaitAndFollowExcludeEachOther) {
    auto outcome = parse({"build", "--config", "x.conf", "--wait", "--follow"});
    EXPECT_EQ(outcome.exitCode, kExitUsage);
    EXPECT_FALSE(outcome.invocation);
}

TEST(CtlArguments, GlobalOptionsBeforeOrAfterTheVerb) {
    auto before = ok({"--json", "-H", "http://b:8080", "--no-legend", "list"});
    EXPECT_TRUE(before.global.json);
    EXPECT_TRUE(before.global.noLegend);
    EXPECT_EQ(before.global.host, "http://b:8080");
    auto after = ok({"list", "--all", "--json", "--no-pager", "-q", "--token-file", "/t"});
    EXPECT_TRUE(after.global.json);
    EXPECT_TRUE(after.global.noPager);
    EXPECT_TRUE(after.global.quiet);
    EXPECT_TRUE(after.list.all);
    EXPECT_EQ(after.global.tokenFile, "/t");
}

TEST(CtlArguments, ListStateMustBeAKnownState) {
    auto inv = ok({"list", "--state", "running", "--state", "queued"});
    EXPECT_THAT(inv.list.states, ::testing::ElementsAre("running", "queued"));
    auto outcome = parse({"list", "--state", "sleeping"});
    EXPECT_EQ(outcome.exitCode, kExitUsage);
    EXPECT_THAT(outcome.err, HasSubstr("sleeping"));
}

TEST(CtlArguments, LogOptions) {
    auto inv = ok({"log", "h-3", "-f", "-n", "20", "-o", "json"});
    EXPECT_EQ(inv.verb, Verb::kLog);
    EXPECT_EQ(inv.log.id, "h-3");
    EXPECT_TRUE(inv.log.follow);
    EXPECT_EQ(inv.log.lines, 20u);
    EXPECT_EQ(inv.log.format, LogFormat::kJson);
    EXPECT_EQ(ok({"log", "h-3"}).log.format, LogFormat::kShort);
    EXPECT_EQ(ok({"log", "h-3", "--output=cat"}).log.format, LogFormat::kCat);
    EXPECT_EQ(parse({"log", "h-3", "-o", "xml"}).exitCode, kExitUsage);
}

TEST(CtlArguments, VerbsTakingIds) {
    EXPECT_THAT(ok({"cancel", "h-1", "h-2"}).ids, ::testing::ElementsAre("h-1", "h-2"));
    EXPECT_EQ(ok({"wait", "h-1"}).verb, Verb::kWait);
    EXPECT_EQ(ok({"status", "h-9"}).statusId, "h-9");
    auto show = ok({"show", "h-1", "-p", "State", "-p", "Result"});
    EXPECT_THAT(show.show.properties, ::testing::ElementsAre("State", "Result"));
    EXPECT_EQ(ok({"artifacts", "h-1", "--download", "/tmp/d"}).artifacts.download, "/tmp/d");
    EXPECT_EQ(ok({"hosts"}).verb, Verb::kHosts);
    EXPECT_EQ(parse({"cancel"}).exitCode, kExitUsage);
    auto pin = ok({"pin", "h-1", "h-3"});
    EXPECT_EQ(pin.verb, Verb::kPin);
    EXPECT_THAT(pin.ids, ::testing::ElementsAre("h-1", "h-3"));
    EXPECT_EQ(ok({"unpin", "h-1"}).verb, Verb::kUnpin);
    EXPECT_EQ(parse({"pin"}).exitCode, kExitUsage);
}

TEST(CtlArguments, RetryTakesOneIdAndWaitOrFollow) {
    auto retry = ok({"retry", "h-4", "--follow"});
    EXPECT_EQ(retry.verb, Verb::kRetry);
    EXPECT_EQ(retry.retry.id, "h-4");
    EXPECT_TRUE(retry.retry.follow);
    EXPECT_FALSE(retry.retry.wait);
    EXPECT_TRUE(ok({"retry", "h-4", "--wait"}).retry.wait);
    EXPECT_EQ(parse({"retry"}).exitCode, kExitUsage);
    EXPECT_EQ(parse({"retry", "h-4", "h-5"}).exitCode, kExitUsage);
    EXPECT_EQ(parse({"retry", "nonsense"}).exitCode, kExitUsage);
    EXPECT_EQ(parse({"retry", "h-4", "--wait", "--follow"}).exitCode, kExitUsage);
}

TEST(CtlArguments, UnknownVerbSuggestsTheClosest) {
    auto outcome = parse({"lsit"});
    EXPECT_EQ(outcome.exitCode, kExitUsage);
    EXPECT_THAT(outcome.err, HasSubstr("Unknown verb 'lsit'. Did you mean 'list'?"));
    EXPECT_THAT(parse({"--json", "stauts", "x-1"}).err, HasSubstr("Did you mean 'status'?"));
    EXPECT_THAT(parse({"frobnicate"}).err, HasSubstr("imagebuildctl --help"));
}

TEST(CtlArguments, UnknownOptionSuggestsTheClosest) {
    auto outcome = parse({"list", "--stat", "running"});
    EXPECT_EQ(outcome.exitCode, kExitUsage);
    EXPECT_THAT(outcome.err,
                HasSubstr("Unknown option '--stat' for 'list'. Did you mean '--state'?"));
    EXPECT_THAT(parse({"build", "k.ks", "--relase", "39"}).err, HasSubstr("'--release'"));
    EXPECT_THAT(parse({"--jsno", "list"}).err, HasSubstr("Did you mean '--json'?"));
}

TEST(CtlArguments, NoVerbIsAUsageError) {
    auto outcome = parse({});
    EXPECT_EQ(outcome.exitCode, kExitUsage);
    EXPECT_FALSE(outcome.err.empty());
}

TEST(CtlArguments, HelpAndVersionExitZero) {
    auto help = parse({"--help"});
    EXPECT_EQ(help.exitCode, kExitOk);
    EXPECT_FALSE(help.invocation);
    EXPECT_THAT(help.out, HasSubstr("build"));
    auto verbHelp = parse({"log", "--help"});
    EXPECT_THAT(verbHelp.out, HasSubstr("--follow"));
    EXPECT_THAT(parse({"--version"}).out, HasSubstr("imagebuildctl "));
}

TEST(CtlArguments, LabelAndTimeoutValidation) {
    EXPECT_EQ(parse({"build", "--config", "c", "--timeout", "-5"}).exitCode, kExitUsage);
    EXPECT_EQ(parse({"build", "--config", "c", "--timeout", "abc"}).exitCode, kExitUsage);
}

TEST(CtlArguments, IdsMustBeBuildIds) {
    for (const char* verb :
         {"status", "log", "show", "artifacts", "cancel", "pin", "unpin", "wait"}) {
        auto outcome = parse({verb, "../etc"});
        EXPECT_EQ(outcome.exitCode, kExitUsage) << verb;
        EXPECT_THAT(outcome.err, HasSubstr("'../etc' is not a build id")) << verb;
        EXPECT_EQ(parse({verb, ""}).exitCode, kExitUsage) << verb;
    }
    EXPECT_THAT(ok({"wait", "a-1", "b.example.org-22"}).ids,
                ::testing::ElementsAre("a-1", "b.example.org-22"));
}

TEST(CtlArguments, BuildWithSideRpmsRepositoriesAndUpdates) {
    auto inv =
        ok({"build", "ks.cfg", "-t", "live", "-a", "x86_64", "-r", "40", "--rpm", "a.rpm", "--rpm",
            "b.rpm", "--repo", "extras=https://example.org/x/", "--updates", "--updates-testing"});
    EXPECT_THAT(inv.build.rpms, ::testing::ElementsAre("a.rpm", "b.rpm"));
    EXPECT_THAT(inv.build.repos, ::testing::ElementsAre("extras=https://example.org/x/"));
    EXPECT_TRUE(inv.build.updates);
    EXPECT_TRUE(inv.build.updatesTesting);
}
