#include <gtest/gtest.h>

#include "common/build_info.hpp"
#include "common/build_json.hpp"

using imagebuild::BuildInfo;

TEST(BuildJson, RoundTripsEveryField) {
    BuildInfo info;
    info.id = "hostA-3";
    info.host = "hostA";
    info.type = "oemdrv";
    info.state = "succeeded";
    info.result = "succeeded";
    info.exitStatus = 0;
    info.submittedAt = 1700000000000000;
    info.submitter = "alice";
    info.retryOf = "hostA-2";
    info.failureClass = "infra";
    info.labels = {{"team", "qa"}};
    info.notify = {"a@example.org"};
    info.artifacts = {{"oemdrv.iso", "/var/lib/imagebuild/x/oemdrv.iso", 374784, "ab"}};

    nlohmann::json j = info;
    EXPECT_EQ(j["exit_status"], 0);
    EXPECT_EQ(j["submitter"], "alice");
    EXPECT_EQ(j["labels"]["team"], "qa");
    EXPECT_EQ(j["artifacts"][0]["size"], 374784);

    auto back = j.get<BuildInfo>();
    EXPECT_EQ(back.id, info.id);
    EXPECT_EQ(back.submittedAt, info.submittedAt);
    EXPECT_EQ(back.submitter, "alice");
    EXPECT_EQ(j["retry_of"], "hostA-2");
    EXPECT_EQ(back.retryOf, "hostA-2");
    EXPECT_EQ(j["failure_class"], "infra");
    EXPECT_EQ(back.failureClass, "infra");
    EXPECT_EQ(back.labels, info.labels);
    EXPECT_EQ(back.artifacts.at(0).name, "oemdrv.iso");
    EXPECT_TRUE(back.finished());
}

TEST(BuildJson, FailureClassResourcesAndAttempts) {
    BuildInfo info;
    info.id = "h-1";
    info.state = info.result = "failed";
    info.failureClass = "infra";
    info.resources.cpuUsec = 1234;
    info.resources.wallUsec = 5000;
    info.stagedAt = 99;
    info.attempt = 2;
    info.attempts = {{1, "failed", "infra", "interrupted: host restarted while running", 1, 2}};
    nlohmann::json j = info;
    EXPECT_EQ(j["failure_class"], "infra");
    EXPECT_EQ(j["resources"]["cpu_usec"], 1234);
    // What the host cannot tell is null, never 0.
    EXPECT_TRUE(j["resources"]["memory_peak_bytes"].is_null());
    EXPECT_TRUE(j["resources"]["io_read_bytes"].is_null());
    EXPECT_TRUE(j["resources"]["io_write_bytes"].is_null());
    EXPECT_EQ(j["staged_at"], 99);
    EXPECT_EQ(j["attempts"][0]["failure_class"], "infra");
    auto back = j.get<BuildInfo>();
    EXPECT_EQ(back.failureClass, "infra");
    EXPECT_EQ(back.resources, info.resources);
    EXPECT_EQ(back.attempts, info.attempts);
    EXPECT_EQ(back.attempt, 2u);
    // A list row carries the class too.
    BuildInfo row = info;
    row.listRow = true;
    nlohmann::json rowJson = row;
    EXPECT_EQ(rowJson["failure_class"], "infra");
    EXPECT_FALSE(rowJson.contains("resources"));
}

TEST(BuildJson, MissingKeysKeepDefaultsAndWrongTypesThrow) {
    auto partial = nlohmann::json{{"id", "h-1"}, {"state", "queued"}}.get<BuildInfo>();
    EXPECT_EQ(partial.exitStatus, -1);
    EXPECT_FALSE(partial.finished());
    EXPECT_THROW((nlohmann::json{{"submitted_at", "yesterday"}}.get<BuildInfo>()),
                 nlohmann::json::type_error);
}

TEST(BuildJson, AListRowLeavesOutWhatARowDoesNotCarry) {
    imagebuild::BuildListRow row(
        "b-4", "oemdrv", "x86_64", "40", "nightly", "alice", "failed", "failed", 998u, 10u, 11u,
        12u, sdbus::ObjectPath("/org/imagebuild/Agent1/build/b_2d4"), "", "timeout", 0, 0u);
    nlohmann::json j = imagebuild::buildInfoFromListRow(row);
    EXPECT_EQ(j["state"], "failed");
    EXPECT_EQ(j["failure_class"], "timeout");
    EXPECT_EQ(j["finished_at"], 12u);
    for (const char* unknown : {"exit_status", "artifacts", "reason", "unit", "labels", "notify",
                                "monitor_url", "timeout_usec", "pinned"}) {
        EXPECT_FALSE(j.contains(unknown)) << unknown;
    }
    // Read back (imagebuildctl --host), it is a row again and stays one.
    auto back = j.get<BuildInfo>();
    EXPECT_TRUE(back.listRow);
    EXPECT_EQ(nlohmann::json(back), j);
}

TEST(BuildJson, AWholeRecordIsNotARow) {
    BuildInfo info;
    info.exitStatus = 0;
    nlohmann::json j = info;
    EXPECT_EQ(j["exit_status"], 0);
    EXPECT_TRUE(j["artifacts"].is_array());
    EXPECT_FALSE(j.get<BuildInfo>().listRow);
}
