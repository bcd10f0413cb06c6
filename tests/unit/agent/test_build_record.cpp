#include "agent/build_record.hpp"

#include <gtest/gtest.h>

using namespace imagebuild::agent;

namespace {
UnitOutcome outcome(const char* result, const char* code, const char* status) {
    return UnitOutcome{result, code, status, 0, {}};
}
}  // namespace

TEST(BuildRecord, FinalStateFromSystemdsOutcome) {
    auto s = finalStateOf(outcome("success", "exited", "0"), false);
    EXPECT_EQ(s.state, "succeeded");
    EXPECT_EQ(s.exitStatus, 0);
    s = finalStateOf(outcome("exit-code", "exited", "3"), false);
    EXPECT_EQ(s.state, "failed");
    EXPECT_EQ(s.exitStatus, 3);
    s = finalStateOf(outcome("timeout", "killed", "TERM"), false);
    EXPECT_EQ(s.state, "timed-out");
    EXPECT_EQ(s.exitStatus, 128 + 15);
    s = finalStateOf(outcome("signal", "dumped", "SEGV"), false);
    EXPECT_EQ(s.state, "failed");
    EXPECT_EQ(s.exitStatus, 128 + 11);
    // A stop systemd counts as clean is still a failure unless we asked.
    s = finalStateOf(outcome("success", "killed", "TERM"), false);
    EXPECT_EQ(s.state, "failed");
    s = finalStateOf(outcome("success", "killed", "TERM"), true);
    EXPECT_EQ(s.state, "cancelled");
    s = finalStateOf(outcome("resources", "", ""), false);
    EXPECT_EQ(s.state, "failed");
    EXPECT_EQ(s.exitStatus, -1);
}

TEST(BuildRecord, OutcomeRoundTripsAndRejectsGarbage) {
    UnitOutcome o{"exit-code", "exited", "2", 1234, {}};
    auto parsed = parseOutcome(formatOutcome(o));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->serviceResult, "exit-code");
    EXPECT_EQ(parsed->exitStatus, "2");
    EXPECT_EQ(parsed->finishedAt, 1234u);
    EXPECT_FALSE(parseOutcome("garbage").has_value());
    EXPECT_FALSE(parseOutcome("EXIT_CODE=exited\n").has_value());
}

TEST(BuildRecord, JsonRoundTrip) {
    BuildRecord r;
    r.id = "host-7";
    r.number = 7;
    r.spec.type = "oemdrv";
    r.spec.notify = {"a@b.c"};
    r.state = "running";
    r.cancelRequested = true;
    r.artifacts = {{"x.iso", "/p/x.iso", 10, ""}};
    auto back = recordFromJson(recordToJson(r));
    EXPECT_EQ(back.id, "host-7");
    EXPECT_EQ(back.number, 7u);
    EXPECT_EQ(back.spec.notify, r.spec.notify);
    EXPECT_TRUE(back.cancelRequested);
    ASSERT_EQ(back.artifacts.size(), 1u);
    EXPECT_EQ(back.artifacts[0].size, 10u);
    auto j = recordToJson(r);
    j["id"] = "../etc";
    EXPECT_THROW(recordFromJson(j), std::invalid_argument);
    j = recordToJson(r);
    j.erase("state");
    EXPECT_ANY_THROW(recordFromJson(j));
}

TEST(BuildRecord, PinnedIsKeptAndAbsentMeansNotPinned) {
    BuildRecord r;
    r.id = "host-8";
    r.spec.type = "oemdrv";
    r.state = "succeeded";
    r.result = "succeeded";
    EXPECT_FALSE(recordFromJson(recordToJson(r)).pinned);
    r.pinned = true;
    auto j = recordToJson(r);
    EXPECT_EQ(j.at("pinned"), true);
    EXPECT_TRUE(recordFromJson(j).pinned);
    j.erase("pinned");  // a record written before pinning existed
    EXPECT_FALSE(recordFromJson(j).pinned);
}

TEST(BuildRecord, RetryOfRoundTripsAndOldRecordsHaveNone) {
    BuildRecord r;
    r.id = "host-9";
    r.retryOf = "host-8";
    auto j = recordToJson(r);
    EXPECT_EQ(j.at("retry_of"), "host-8");
    EXPECT_EQ(recordFromJson(j).retryOf, "host-8");
    EXPECT_EQ(buildInfoOf(r).retryOf, "host-8");
    j.erase("retry_of");  // a record written before retries existed
    EXPECT_EQ(recordFromJson(j).retryOf, "");
}

// The webhook body and manifest.json are buildInfoOf's: they carry the
// queue's facts as the bus does.
TEST(BuildRecord, BuildInfoCarriesPriorityAndStall) {
    BuildRecord r;
    r.id = "host-9";
    r.spec.priority = 7;
    r.stalledSince = 42;
    auto info = buildInfoOf(r);
    EXPECT_EQ(info.priority, 7);
    EXPECT_EQ(info.stalledSince, 42u);
    EXPECT_TRUE(info.stalled());
}

TEST(BuildRecord, ReasonRoundTripsAndOldRecordsHaveNone) {
    BuildRecord r;
    r.id = "host-8";
    r.state = "failed";
    r.result = "failed";
    r.reason =
        "systemd refused to start imagebuild-host-8.service: "
        "org.freedesktop.systemd1.UnitExists: Unit imagebuild-host-8.service was "
        "already loaded or has a fragment file.";
    EXPECT_EQ(recordFromJson(recordToJson(r)).reason, r.reason);
    auto j = recordToJson(r);
    j.erase("reason");  // written before the field existed
    EXPECT_EQ(recordFromJson(j).reason, "");
}

TEST(BuildRecord, SubmitterRoundTripsAndOldRecordsTakeTheUidsName) {
    BuildRecord r;
    r.id = "host-9";
    r.submitterUid = 0;
    r.submitter = "alice";
    EXPECT_EQ(recordFromJson(recordToJson(r)).submitter, "alice");
    auto j = recordToJson(r);
    j.erase("submitter");  // written before the field existed
    EXPECT_EQ(recordFromJson(j).submitter, "root");
    EXPECT_EQ(userNameOf(0), "root");
    // A uid without a name is shown as its number.
    EXPECT_EQ(userNameOf(4000000123u), "uid 4000000123");
}
