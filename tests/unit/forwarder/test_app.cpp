// app.hpp: the log lines of failing answers are bounded, failures and
// refusals each within a budget of their own, so that a flood of refused
// requests cannot hide the failures (log_budget.hpp is the budget itself).
#include "forwarder/app.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <sstream>
#include <string>

#include "common/sha256.hpp"
#include "forwarder/local_agent.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;

namespace {

// An agent whose bus is gone: every question fails as if nobody owned the name.
class GoneAgent final : public LocalAgent {
public:
    [[noreturn]] static void gone() {
        throw sdbus::Error("org.freedesktop.DBus.Error.ServiceUnknown", "no agent");
    }
    std::string submit(const DbusSpec&) override { gone(); }
    std::vector<BuildInfo> list() override { gone(); }
    BuildInfo get(const std::string&) override { gone(); }
    void cancel(const std::string&) override { gone(); }
    std::string retry(const std::string&, const std::string&) override { gone(); }
    std::string kickstart(const std::string&) override { gone(); }
    HostInfo host() override { gone(); }
};

// The stderr lines with this priority prefix that contain `text`.
int linesWith(const std::string& log, const std::string& priority, const std::string& text) {
    std::istringstream lines(log);
    int count = 0;
    for (std::string line; std::getline(lines, line);) {
        count += line.rfind(priority, 0) == 0 && line.find(text) != std::string::npos;
    }
    return count;
}

}  // namespace

// 50 refused requests, then 50 failing ones, within a few milliseconds:
// each kind gets its own 20 lines a second (at most twice that, should
// the run cross a second), and the refusals took nothing from the failures.
TEST(ForwarderApp, FailuresAndRefusalsAreLoggedWithinBudgetsOfTheirOwn) {
    App app(parseConfig("", "x"), TokenStore::parse("alice " + sha256Hex("s") + "\n", "t"),
            "testhost");
    app.setAgent(std::make_unique<GoneAgent>());
    registerRoutes(app);
    auto call = [&app](const char* method) {
        Request request;
        request.method = method;
        request.path = "/v1/builds/testhost-1";
        return app.dispatch(request).status;
    };
    ::testing::internal::CaptureStderr();
    for (int i = 0; i < 50; ++i) {
        ASSERT_EQ(call("DELETE"), 401u);  // no token
    }
    for (int i = 0; i < 50; ++i) {
        ASSERT_EQ(call("GET"), 503u);  // the agent is gone
    }
    auto log = ::testing::internal::GetCapturedStderr();
    int refusals = linesWith(log, "<4>", "-> 401");
    int failures = linesWith(log, "<3>", "-> 503");
    EXPECT_GE(refusals, 20) << log;
    EXPECT_LE(refusals, 40) << log;
    EXPECT_GE(failures, 20) << log;
    EXPECT_LE(failures, 40) << log;
}

// What a request's handler waits on is known at its head (wait_groups.hpp):
// a build's owner, this host's agent or a peer; the fleet for a fleet-wide
// answer, the agent for its local part; nothing shared for the rest.
TEST(ForwarderApp, TheHeadTellsWhatAHandlerWaitsOn) {
    App app(parseConfig("", "x"), TokenStore::parse("alice " + sha256Hex("s") + "\n", "t"),
            "testhost");
    registerRoutes(app);
    auto waitsOn = [&app](const char* method, const std::string& target,
                          const char* forwarded = nullptr) {
        Request request;
        request.method = method;
        auto query = target.find('?');
        request.path = target.substr(0, query);
        if (query != std::string::npos) {
            auto pair = target.substr(query + 1);
            request.query[pair.substr(0, pair.find('='))] = pair.substr(pair.find('=') + 1);
        }
        request.headers["authorization"] = "Bearer s";
        if (forwarded) {
            request.headers["x-imagebuild-forwarded"] = forwarded;
        }
        auto admission = app.admit(request);
        EXPECT_FALSE(admission.refusal) << method << " " << target;
        return admission.waitsOn.name + "/" + std::to_string(admission.waitsOn.cap);
    };
    EXPECT_EQ(waitsOn("GET", "/v1/builds/testhost-3"), "agent/32");
    EXPECT_EQ(waitsOn("DELETE", "/v1/builds/testhost-3"), "agent/32");
    EXPECT_EQ(waitsOn("GET", "/artifacts/testhost-3/boot.iso"), "agent/32");
    EXPECT_EQ(waitsOn("GET", "/monitor/beta-7"), "peer beta/32");
    EXPECT_EQ(waitsOn("POST", "/v1/builds/beta-7/retry"), "peer beta/32");
    EXPECT_EQ(waitsOn("GET", "/v1/builds/beta-7", "1"), "agent/32");  // asked by a peer
    EXPECT_EQ(waitsOn("GET", "/v1/builds"), "fleet/16");
    EXPECT_EQ(waitsOn("GET", "/v1/hosts"), "fleet/16");
    EXPECT_EQ(waitsOn("GET", "/v1/stats"), "fleet/16");
    // The local part of a fleet-wide answer (what peers ask each other).
    EXPECT_EQ(waitsOn("GET", "/v1/builds?scope=local"), "agent/32");
    EXPECT_EQ(waitsOn("GET", "/v1/builds", "1"), "agent/32");
    EXPECT_EQ(waitsOn("GET", "/v1/hosts?scope=local"), "agent/32");
    EXPECT_EQ(waitsOn("GET", "/v1/stats", "1"), "agent/32");
    EXPECT_EQ(waitsOn("GET", "/builds/testhost-3"), "/0");  // a page: it asks through the API
    EXPECT_EQ(waitsOn("POST", "/v1/builds"), "/0");         // placed on any host
    EXPECT_EQ(waitsOn("GET", "/metrics"), "/0");
    EXPECT_EQ(waitsOn("GET", "/v1/builds/not-an-id!"), "/0");
}
