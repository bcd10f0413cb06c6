#include <gtest/gtest.h>

#include "forwarder/metrics.hpp"

using namespace imagebuild::forwarder;

namespace {

bool hasLine(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST(ForwarderMetrics, RequestsAreCountedByRouteMethodAndCode) {
    Metrics m;
    m.observeRequest("/v1/builds", "GET", 200, 0.003);
    m.observeRequest("/v1/builds", "GET", 200, 0.2);
    m.observeRequest("/v1/builds", "POST", 401, 0.001);
    auto text = m.render({});
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_requests_total{route="/v1/builds",method="GET",code="200"} 2)"));
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_requests_total{route="/v1/builds",method="POST",code="401"} 1)"));
    EXPECT_TRUE(hasLine(text, "# TYPE imagebuild_forwarder_requests_total counter"));
}

TEST(ForwarderMetrics, InventedMethodsShareOneSeries) {
    Metrics m;
    for (int i = 0; i < 1000; ++i) {
        m.observeRequest("unmatched", "X" + std::to_string(i), 405, 0.001);
    }
    m.observeRequest("/v1/health", "GET", 200, 0.001);
    auto text = m.render({});
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_requests_total{route="unmatched",method="other",code="405"} 1000)"));
    EXPECT_EQ(text.find("X1"), std::string::npos);
    EXPECT_EQ(methodLabel("DELETE"), "DELETE");
    EXPECT_EQ(methodLabel("get"), "other");
}

TEST(ForwarderMetrics, HistogramBucketsAreCumulative) {
    Metrics m;
    m.observeRequest("/v1/health", "GET", 200, 0.003);
    m.observeRequest("/v1/health", "GET", 200, 0.2);
    m.observeRequest("/v1/health", "GET", 200, 30);
    auto text = m.render({});
    const std::string b =
        "imagebuild_forwarder_request_duration_seconds_bucket{route=\"/v1/health\",";
    EXPECT_TRUE(hasLine(text, b + "le=\"0.005\"} 1"));
    EXPECT_TRUE(hasLine(text, b + "le=\"0.1\"} 1"));
    EXPECT_TRUE(hasLine(text, b + "le=\"0.25\"} 2"));
    EXPECT_TRUE(hasLine(text, b + "le=\"10\"} 2"));
    EXPECT_TRUE(hasLine(text, b + "le=\"+Inf\"} 3"));
    EXPECT_TRUE(hasLine(
        text, "imagebuild_forwarder_request_duration_seconds_count{route=\"/v1/health\"} 3"));
}

TEST(ForwarderMetrics, PeersBuildsAndForwards) {
    Metrics m;
    m.setPeerHealth("http://b:8470", true);
    m.setPeerHealth("http://c:8470", true);
    m.setPeerHealth("http://c:8470", false);
    m.countForwarded("http://b:8470", "answered");
    auto text = m.render({{"running", 2}, {"queued", 1}});
    EXPECT_TRUE(hasLine(text, R"(imagebuild_forwarder_peer_up{peer="http://b:8470"} 1)"));
    EXPECT_TRUE(hasLine(text, R"(imagebuild_forwarder_peer_up{peer="http://c:8470"} 0)"));
    EXPECT_TRUE(hasLine(text, R"(imagebuild_forwarder_builds{state="running"} 2)"));
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_forwarded_total{peer="http://b:8470",outcome="answered"} 1)"));
}

TEST(ForwarderMetrics, LabelValuesAreEscaped) {
    EXPECT_EQ(escapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(ForwarderMetrics, RefusalsAreCountedByReasonAndStatus) {
    Metrics m;
    m.countRefusal(400, "BadRequest");
    m.countRefusal(400, "BadRequest");
    m.countRefusal(429, "TooManyConnections");
    m.countRefusal(400, "a name no refusal has");  // bounded: "other"
    auto text = m.render({});
    EXPECT_TRUE(
        hasLine(text, R"(imagebuild_forwarder_refused_total{reason="BadRequest",status="400"} 2)"));
    EXPECT_TRUE(hasLine(
        text, R"(imagebuild_forwarder_refused_total{reason="TooManyConnections",status="429"} 1)"));
    EXPECT_TRUE(
        hasLine(text, R"(imagebuild_forwarder_refused_total{reason="other",status="400"} 1)"));
    EXPECT_TRUE(hasLine(text, "# TYPE imagebuild_forwarder_refused_total counter"));
}

TEST(ForwarderMetrics, BuildsThatDidNotSucceedAreCountedByStateAndClass) {
    Metrics m;
    auto text = m.render({{"failed", 3}, {"succeeded", 1}},
                         {{{"failed", "infra"}, 2}, {{"failed", "build"}, 1}});
    EXPECT_TRUE(hasLine(text, R"(imagebuild_forwarder_builds{state="failed"} 3)"));
    EXPECT_TRUE(
        hasLine(text, R"(imagebuild_forwarder_builds_failed{state="failed",class="infra"} 2)"));
    EXPECT_TRUE(
        hasLine(text, R"(imagebuild_forwarder_builds_failed{state="failed",class="build"} 1)"));
    EXPECT_TRUE(hasLine(text, "# TYPE imagebuild_forwarder_builds_failed gauge"));
}

// The resource record per type: one series per (type, resource), however
// many builds; a figure no host measured has a count of 0 and no sum.
TEST(ForwarderMetrics, ResourcesAreSummedPerTypeNotPerBuild) {
    imagebuild::ResourceUsage cpuOnly;
    cpuOnly.cpuUsec = 1'500'000;
    cpuOnly.wallUsec = 4'000'000;
    imagebuild::ResourceUsage full = cpuOnly;
    full.memoryPeakBytes = 1000;
    ResourceTotals totals;
    for (int i = 0; i < 100; ++i) {
        addResources(totals, "boot", cpuOnly);
    }
    addResources(totals, "live", full);
    Metrics m;
    auto text = m.render({}, {}, totals);
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_build_resource_sum{type="boot",resource="cpu_seconds"} 150)"));
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_build_resource_builds{type="boot",resource="cpu_seconds"} 100)"));
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_build_resource_sum{type="boot",resource="wall_seconds"} 400)"));
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_build_resource_builds{type="boot",resource="memory_peak_bytes"} 0)"));
    EXPECT_EQ(text.find(R"(resource_sum{type="boot",resource="memory_peak_bytes"})"),
              std::string::npos);
    EXPECT_TRUE(hasLine(
        text,
        R"(imagebuild_forwarder_build_resource_sum{type="live",resource="memory_peak_bytes"} 1000)"));
    EXPECT_TRUE(hasLine(text, "# TYPE imagebuild_forwarder_build_resource_sum gauge"));
    std::size_t series = 0;
    for (auto at = text.find("\nimagebuild_forwarder_build_resource_builds{");
         at != std::string::npos;
         at = text.find("\nimagebuild_forwarder_build_resource_builds{", at + 1)) {
        ++series;
    }
    EXPECT_EQ(series, 10u);  // 2 types x 5 resources, not 101 builds
}

// Each ended build's record is asked for once; one the agent no longer
// lists leaves the totals; one that could not be had is asked again.
TEST(ForwarderMetrics, ResourceRecordsAreFetchedOnceAndForgotten) {
    ResourceRecords records;
    std::vector<std::string> asked;
    bool agentAnswers = true;
    auto fetch = [&](const std::string& id) -> std::optional<imagebuild::ResourceUsage> {
        asked.push_back(id);
        if (!agentAnswers) {
            throw std::runtime_error("no agent");
        }
        imagebuild::ResourceUsage usage;
        usage.cpuUsec = 2'000'000;
        return usage;
    };
    auto cpu = [](const ResourceTotals& t, const std::string& type) {
        auto it = t.find({type, "cpu_seconds"});
        return it == t.end() ? -1.0 : it->second.sum;
    };
    auto totals = records.totals({{"h-1", "boot"}, {"h-2", "boot"}}, fetch);
    EXPECT_EQ(cpu(totals, "boot"), 4.0);
    EXPECT_EQ(asked, (std::vector<std::string>{"h-1", "h-2"}));
    totals = records.totals({{"h-1", "boot"}, {"h-2", "boot"}, {"h-3", "live"}}, fetch);
    EXPECT_EQ(asked.size(), 3u);  // only the new one
    EXPECT_EQ(cpu(totals, "live"), 2.0);
    totals = records.totals({{"h-3", "live"}}, fetch);  // h-1, h-2 removed by retention
    EXPECT_EQ(cpu(totals, "boot"), -1.0);
    agentAnswers = false;
    totals = records.totals({{"h-3", "live"}, {"h-4", "live"}}, fetch);
    EXPECT_EQ(cpu(totals, "live"), 2.0);
    agentAnswers = true;
    totals = records.totals({{"h-3", "live"}, {"h-4", "live"}}, fetch);
    EXPECT_EQ(cpu(totals, "live"), 4.0);
    EXPECT_EQ(asked.back(), "h-4");
    EXPECT_EQ(asked.size(), 5u);
}
