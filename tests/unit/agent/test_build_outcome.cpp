// Failure classes and the retry policy: from what the outcome file, the
// cancel flag and the reason say, and from a type's `retry = infra:N`.
#include "agent/build_outcome.hpp"

#include <gtest/gtest.h>

using namespace imagebuild;
using namespace imagebuild::agent;

namespace {

UnitOutcome outcome(const std::string& result, const std::string& code, const std::string& status) {
    return {result, code, status, 1000, {}};
}

std::string classOf(const UnitOutcome& o, bool cancelRequested = false) {
    auto final = finalStateOf(o, cancelRequested);
    return failureClassOf({final.state, o, cancelRequested, ""});
}

}  // namespace

TEST(FailureClass, SuccessHasNone) {
    EXPECT_EQ(classOf(outcome("success", "exited", "0")), "");
    EXPECT_EQ(failureClassOf({state::kRunning, std::nullopt, false, ""}), "");
}

TEST(FailureClass, NonZeroExitIsTheBuilds) {
    EXPECT_EQ(classOf(outcome("exit-code", "exited", "1")), "build");
    EXPECT_EQ(classOf(outcome("exit-code", "exited", "77")), "build");
}

TEST(FailureClass, CrashOfItsOwnIsTheBuilds) {
    EXPECT_EQ(classOf(outcome("core-dump", "dumped", "SEGV")), "build");
    EXPECT_EQ(classOf(outcome("signal", "killed", "ABRT")), "build");
}

TEST(FailureClass, OomKillAndSignalsFromOutsideAreInfra) {
    EXPECT_EQ(classOf(outcome("oom-kill", "killed", "KILL")), "infra");
    EXPECT_EQ(classOf(outcome("signal", "killed", "KILL")), "infra");
    EXPECT_EQ(classOf(outcome("signal", "killed", "TERM")), "infra");
    EXPECT_EQ(classOf(outcome("signal", "killed", "HUP")), "infra");
}

TEST(FailureClass, SystemdThatCouldNotStartTheProgramIsInfra) {
    EXPECT_EQ(classOf(outcome("exit-code", "exited", "203")), "infra");
    EXPECT_EQ(classOf(outcome("resources", "exited", "0")), "infra");
    // Refused, failed start job, vanished: no outcome at all.
    EXPECT_EQ(failureClassOf({state::kFailed, std::nullopt, false, "systemd refused to start x"}),
              "infra");
}

TEST(FailureClass, InterruptedAndFullDiskAreInfraWhateverTheStatus) {
    EXPECT_EQ(failureClassOf({state::kFailed, std::nullopt, false,
                              "interrupted: host restarted while running"}),
              "infra");
    EXPECT_EQ(failureClassOf({state::kFailed, outcome("exit-code", "exited", "1"), false,
                              "no space left on /var"}),
              "infra");
}

TEST(FailureClass, TimeoutAndCancel) {
    EXPECT_EQ(classOf(outcome("timeout", "killed", "TERM")), "timeout");
    // A cancel stops the unit with TERM: cancelled, not infra.
    EXPECT_EQ(classOf(outcome("signal", "killed", "TERM"), true), "cancelled");
    EXPECT_EQ(failureClassOf({state::kCancelled, std::nullopt, false, ""}), "cancelled");
}

TEST(RetryPolicy, ParsesInfraCount) {
    std::string problem;
    auto policy = parseRetryPolicy("infra:2", &problem);
    ASSERT_TRUE(policy);
    EXPECT_EQ(policy->infra, 2u);
    EXPECT_EQ(parseRetryPolicy("infra:0", &problem)->infra, 0u);
    for (const char* bad :
         {"infra", "infra:", "infra:-1", "infra:x", "build:2", "infra:2 ", "infra:11", ""}) {
        EXPECT_FALSE(parseRetryPolicy(bad, &problem)) << bad;
        EXPECT_NE(problem.find("retry must be infra:N"), std::string::npos) << bad;
    }
}

TEST(RetryPolicy, TypeKeyIsCheckedWithItsLine) {
    const char* config = "[type.a]\ncommand = true\nretry = always\n";
    try {
        parseConfig(config, "t.conf");
        FAIL() << "retry = always accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("t.conf:3: retry must be infra:N"), std::string::npos)
            << e.what();
    }
    auto ok = parseConfig("[type.a]\ncommand = true\nretry = infra:3\n", "t.conf");
    EXPECT_EQ(ok.types.at("a").retry.infra, 3u);
    EXPECT_EQ(parseConfig("[type.a]\ncommand = true\n", "t.conf").types.at("a").retry.infra, 0u);
}

TEST(RetryPolicy, OnlyInfraFailuresRunAgainAtMostNTimes) {
    RetryPolicy two{2};
    EXPECT_TRUE(shouldRetry(two, "infra", 1));
    EXPECT_TRUE(shouldRetry(two, "infra", 2));
    EXPECT_FALSE(shouldRetry(two, "infra", 3));
    for (const char* other : {"build", "timeout", "cancelled", ""}) {
        EXPECT_FALSE(shouldRetry(two, other, 1)) << other;
    }
    EXPECT_FALSE(shouldRetry(RetryPolicy{}, "infra", 1));
}

TEST(RetryPolicy, NextAttemptKeepsTheEndedOneAndStartsClean) {
    BuildRecord r;
    r.id = "h-1";
    r.state = r.result = state::kFailed;
    r.failureClass = "infra";
    r.reason = "interrupted: host restarted while running";
    r.startedAt = 10;
    r.finishedAt = 20;
    r.exitStatus = 137;
    r.resources.cpuUsec = 5;
    r.artifacts.push_back({"build.log", "/x", 1, ""});
    beginNextAttempt(r);
    EXPECT_EQ(r.attempt, 2u);
    ASSERT_EQ(r.attempts.size(), 1u);
    EXPECT_EQ(r.attempts[0], (BuildAttempt{1, "failed", "infra",
                                           "interrupted: host restarted while running", 10, 20}));
    EXPECT_EQ(r.state, state::kQueued);
    EXPECT_FALSE(r.finished());
    EXPECT_EQ(r.failureClass, "");
    EXPECT_EQ(r.reason, "");
    EXPECT_EQ(r.exitStatus, -1);
    EXPECT_EQ(r.startedAt, 0u);
    EXPECT_EQ(r.resources, ResourceUsage{});
    EXPECT_TRUE(r.artifacts.empty());
}

TEST(Resources, WallTimeRunsFromTheStartToTheOutcome) {
    auto o = outcome("success", "exited", "0");
    o.resources.cpuUsec = 42;
    auto usage = resourcesOf(o, 400);
    EXPECT_EQ(usage.cpuUsec, 42u);
    EXPECT_EQ(usage.wallUsec, 600u);
    EXPECT_FALSE(usage.memoryPeakBytes);
    EXPECT_FALSE(resourcesOf(o, 0).wallUsec);
}
