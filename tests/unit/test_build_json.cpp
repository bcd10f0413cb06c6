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
    EXPECT_EQ(back.labels, info.labels);
    EXPECT_EQ(back.artifacts.at(0).name, "oemdrv.iso");
    EXPECT_TRUE(back.finished());
}

TEST(BuildJson, MissingKeysKeepDefaultsAndWrongTypesThrow) {
    auto partial = nlohmann::json{{"id", "h-1"}, {"state", "queued"}}.get<BuildInfo>();
    EXPECT_EQ(partial.exitStatus, -1);
    EXPECT_FALSE(partial.finished());
    EXPECT_THROW((nlohmann::json{{"submitted_at", "yesterday"}}.get<BuildInfo>()),
                 nlohmann::json::type_error);
}

TEST(BuildInfo, FromDbusPropertiesTakesKnownKeysAndDerivesHost) {
    std::map<std::string, sdbus::Variant> props{
        {"Id", sdbus::Variant(std::string("build-b-12"))},
        {"State", sdbus::Variant(std::string("running"))},
        {"StartedAt", sdbus::Variant(std::uint64_t{5})},
        {"Submitter", sdbus::Variant(std::string("alice"))},
        {"SomethingNewer", sdbus::Variant(std::string("ignored"))},
        {"ExitStatus", sdbus::Variant(std::string("wrong type keeps default"))},
    };
    auto info = imagebuild::buildInfoFromProperties(props);
    EXPECT_EQ(info.host, "build-b");
    EXPECT_EQ(info.state, "running");
    EXPECT_EQ(info.startedAt, 5u);
    EXPECT_EQ(info.submitter, "alice");
    EXPECT_EQ(info.exitStatus, -1);
    EXPECT_TRUE(imagebuild::isFinalState("timed-out"));
    EXPECT_FALSE(imagebuild::isFinalState("running"));
}

TEST(BuildInfo, FromListRowTakesTheSubmitterAfterTheName) {
    imagebuild::BuildListRow row(
        "b-4", "oemdrv", "x86_64", "40", "nightly", "alice", "running", "", 998u, 10u, 11u, 0u,
        sdbus::ObjectPath("/org/imagebuild/Agent1/build/b_2d4"), "b-3", 7, 9u);
    auto info = imagebuild::buildInfoFromListRow(row);
    EXPECT_EQ(info.host, "b");
    EXPECT_EQ(info.name, "nightly");
    EXPECT_EQ(info.submitter, "alice");
    EXPECT_EQ(info.state, "running");
    EXPECT_EQ(info.submitterUid, 998u);
    EXPECT_EQ(info.submittedAt, 10u);
    EXPECT_EQ(info.startedAt, 11u);
    EXPECT_EQ(info.finishedAt, 0u);
    EXPECT_EQ(info.retryOf, "b-3");
    EXPECT_EQ(info.priority, 7);
    EXPECT_EQ(info.stalledSince, 9u);
    nlohmann::json j = info;
    EXPECT_EQ(j["priority"], 7);
    EXPECT_EQ(j["stalled"], true);
    EXPECT_EQ(j["stalled_since"], 9u);
}

TEST(BuildJson, AListRowLeavesOutWhatARowDoesNotCarry) {
    imagebuild::BuildListRow row(
        "b-4", "oemdrv", "x86_64", "40", "nightly", "alice", "succeeded", "succeeded", 998u, 10u,
        11u, 12u, sdbus::ObjectPath("/org/imagebuild/Agent1/build/b_2d4"), "", 0, 0u);
    nlohmann::json j = imagebuild::buildInfoFromListRow(row);
    EXPECT_EQ(j["state"], "succeeded");
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
