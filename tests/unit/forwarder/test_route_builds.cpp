// The builds routes through the dispatcher, with fake agents: submit, cancel,
// retry and read; admission at the head and the dispatcher's own errors; every
// error {"error", "message"} with the right status; the list's pages and filters.
#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/dbus_names.hpp"
#include "common/sha256.hpp"
#include "forwarder/app.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/submit_spec.hpp"
#include "tests/unit/forwarder/http_testing.hpp"
#include "tests/unit/forwarder/list_agent.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using namespace imagebuild::testing;
using json = nlohmann::json;

namespace {

class FakeAgent final : public LocalAgent {
public:
    std::string submitError;
    DbusSpec lastSpec;
    std::vector<std::string> cancelled;

    std::string submit(const DbusSpec& spec) override {
        if (!submitError.empty()) {
            throw sdbus::Error(submitError, "refused by the fake");
        }
        lastSpec = spec;
        return "testhost-1";
    }
    std::vector<BuildInfo> list() override { return {get("testhost-1")}; }
    BuildInfo get(const std::string& id) override {
        if (id != "testhost-1") {
            throw sdbus::Error(dbus_names::error::kNotFound, "no build " + id);
        }
        BuildInfo info;
        info.id = id;
        info.host = "testhost";
        info.state = "queued";
        info.submitter = "alice";  // submitted through this forwarder with alice's token
        info.submitterUid = getuid();
        return info;
    }
    std::vector<std::string> retried;
    void cancel(const std::string& id) override {
        cancelled.push_back(id);
        throw sdbus::Error(dbus_names::error::kAlreadyFinished, id + " has ended");
    }
    std::string retry(const std::string& id, const std::string& submitter) override {
        get(id);
        retried.push_back(id + " as " + submitter);
        throw sdbus::Error(dbus_names::error::kQueueFull, "2 builds are queued already");
    }
    std::string kickstart(const std::string& id) override {
        get(id);
        return "text\n";
    }
    HostInfo host() override {
        HostInfo h;
        h.hostname = "testhost";
        h.arches = {"x86_64"};
        h.releases = {"f40"};
        h.imageTypes = {"boot"};
        h.maxParallel = 1;
        return h;
    }
};

struct Fixture : ::testing::Test {
    Fixture()
        : app(parseConfig("", "x"),
              TokenStore::parse("alice " + imagebuild::sha256Hex("s") + "\nbob " +
                                    imagebuild::sha256Hex("b") + "\nops " +
                                    imagebuild::sha256Hex("o") + " admin\n",
                                "t"),
              "testhost") {
        auto fake = std::make_unique<FakeAgent>();
        agent = fake.get();
        app.setAgent(std::move(fake));
        registerRoutes(app);
    }

    // token: alice's; as(): another token's.
    Response call(std::string method, std::string path, std::string body = "", bool token = false) {
        return as(token ? "s" : "", std::move(method), std::move(path), std::move(body));
    }
    Response as(const std::string& token, std::string method, std::string path,
                std::string body = "") {
        Request r;
        r.method = std::move(method);
        r.path = std::move(path);
        r.body = std::move(body);
        if (!token.empty()) {
            r.headers["authorization"] = "Bearer " + token;
        }
        return app.dispatch(r);
    }

    App app;
    FakeAgent* agent = nullptr;
};

const char* kSpec =
    R"({"type":"boot","arch":"x86_64","release":"f40","kickstart":"text","notify":["a@b"],)"
    R"("timeout_sec":60,"labels":{"team":"qa"}})";

}  // namespace

TEST_F(Fixture, AdmissionAtTheHeadAuthenticatesAndKnowsTheBodyLimit) {
    auto head = [](std::string method, std::string path, std::string token = "",
                   std::string type = "") {
        Request r;
        r.method = std::move(method);
        r.path = std::move(path);
        if (!token.empty()) {
            r.headers["authorization"] = "Bearer " + token;
        }
        if (!type.empty()) {
            r.headers["content-type"] = type;
        }
        return r;
    };
    auto anonymous = head("POST", "/v1/builds");
    auto refused = app.admit(anonymous);
    ASSERT_TRUE(refused.refusal);
    expectError(*refused.refusal, 401, "Unauthorized");
    auto wrong = head("POST", "/v1/builds", "not-a-token");
    ASSERT_TRUE(app.admit(wrong).refusal);
    auto nowhere = head("GET", "/nowhere");
    ASSERT_TRUE(app.admit(nowhere).refusal);
    EXPECT_EQ(app.admit(nowhere).refusal->status, 404u);

    auto json = head("POST", "/v1/builds", "s", "application/json");
    auto admitted = app.admit(json);
    EXPECT_FALSE(admitted.refusal);
    EXPECT_EQ(admitted.maxBodyBytes, app.config().maxBodyBytes);
    EXPECT_FALSE(admitted.form);
    auto form = head("POST", "/v1/builds", "s", "multipart/form-data; boundary=x");
    admitted = app.admit(form);
    EXPECT_EQ(admitted.maxBodyBytes, app.config().maxUploadBytes);
    EXPECT_TRUE(admitted.form);
    // Every other route takes no body.
    auto health = head("GET", "/v1/health");
    admitted = app.admit(health);
    EXPECT_FALSE(admitted.refusal);
    EXPECT_EQ(admitted.maxBodyBytes, 0u);
    auto cancel = head("DELETE", "/v1/builds/testhost-1", "s");
    EXPECT_EQ(app.admit(cancel).maxBodyBytes, 0u);
}

TEST_F(Fixture, NulInAnyStringIs400NamingTheField) {
    struct Case {
        std::string body;
        std::string names;
    };
    for (const auto& c : std::vector<Case>{
             {R"({"type":"boot","arch":"x86_64","release":"f40","kickstart":"a\u0000b"})",
              "'kickstart' holds a NUL"},
             {R"({"type":"boot","arch":"x86_64","release":"f40","kickstart":"a","name":"\u0000"})",
              "'name' holds a NUL"},
             {R"({"type":"boot","arch":"x86_64","release":"f40","kickstart":"a",)"
              R"("labels":{"k":"v\u0000"}})",
              "'labels'['k'] holds a NUL"},
             {R"({"type":"boot","arch":"x86_64","release":"f40","kickstart":"a",)"
              R"("notify":["a@b","c\u0000"]})",
              "'notify'[1] holds a NUL"},
             {R"({"type":"boot\u0000x","arch":"x86_64","release":"f40","kickstart":"a"})",
              "'type' holds a NUL"},
         }) {
        auto r = call("POST", "/v1/builds", c.body, true);
        expectError(r, 400, "InvalidSpec");
        EXPECT_NE(r.body.find(c.names), std::string::npos) << r.body;
    }
}

TEST_F(Fixture, UnknownPathIs404AndWrongMethodIs405) {
    expectError(call("GET", "/nope"), 404, "NotFound");
    expectError(call("PUT", "/v1/builds"), 405, "MethodNotAllowed");
}

TEST_F(Fixture, HealthNamesTheHost) {
    auto r = call("GET", "/v1/health");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(json::parse(r.body)["hostname"], "testhost");
}

TEST_F(Fixture, SubmitNeedsAToken) {
    expectError(call("POST", "/v1/builds", kSpec), 401, "Unauthorized");
}

TEST_F(Fixture, SubmitPassesTheSpecAndRecordsTheSubmitter) {
    auto r = call("POST", "/v1/builds", kSpec, true);
    ASSERT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(json::parse(r.body)["id"], "testhost-1");
    EXPECT_EQ(agent->lastSpec.at("arch").get<std::string>(), "x86_64");
    EXPECT_EQ(agent->lastSpec.at("timeout_sec").get<std::uint64_t>(), 60u);
    EXPECT_EQ(agent->lastSpec.at("notify").get<std::vector<std::string>>(),
              std::vector<std::string>{"a@b"});
    auto labels = agent->lastSpec.at("labels").get<std::map<std::string, std::string>>();
    EXPECT_EQ(labels, (std::map<std::string, std::string>{{"team", "qa"}}));
    EXPECT_EQ(agent->lastSpec.at("submitter").get<std::string>(), "alice");
}

TEST_F(Fixture, ABodyCannotNameTheSubmitter) {
    auto r = call("POST", "/v1/builds",
                  R"({"type":"boot","arch":"x86_64","release":"f40","kickstart":"k",)"
                  R"("submitter":"bob"})",
                  true);
    expectError(r, 400, "InvalidSpec");
    EXPECT_NE(r.body.find("'submitter' cannot be given"), std::string::npos) << r.body;
}

TEST_F(Fixture, DeleteIsForTheSubmittingTokenOrAnAdmin) {
    auto r = as("b", "DELETE", "/v1/builds/testhost-1");
    expectError(r, 403, "Forbidden");
    EXPECT_NE(r.body.find("submitted by 'alice'; token 'bob' may cancel only its own builds"),
              std::string::npos)
        << r.body;
    EXPECT_TRUE(agent->cancelled.empty());
    // alice's and the admin's reach the agent (whose fake answers that it ended).
    expectError(as("s", "DELETE", "/v1/builds/testhost-1"), 409, "AlreadyFinished");
    expectError(as("o", "DELETE", "/v1/builds/testhost-1"), 409, "AlreadyFinished");
    EXPECT_EQ(agent->cancelled.size(), 2u);
}

TEST_F(Fixture, RetryIsForTheSubmittingTokenOrAnAdminAndMapsTheAgentsErrors) {
    auto r = as("b", "POST", "/v1/builds/testhost-1/retry");
    expectError(r, 403, "Forbidden");
    EXPECT_NE(r.body.find("token 'bob' may retry only its own builds"), std::string::npos)
        << r.body;
    EXPECT_TRUE(agent->retried.empty());
    expectError(as("", "POST", "/v1/builds/testhost-1/retry"), 401, "Unauthorized");
    // alice's and the admin's reach the agent (whose fake says its queue is full).
    expectError(as("s", "POST", "/v1/builds/testhost-1/retry"), 503, "QueueFull");
    expectError(as("o", "POST", "/v1/builds/testhost-1/retry"), 503, "QueueFull");
    // Each in its token's name, not as the forwarder's user.
    EXPECT_EQ(agent->retried,
              (std::vector<std::string>{"testhost-1 as alice", "testhost-1 as ops"}));
    expectError(as("s", "POST", "/v1/builds/testhost-404/retry"), 404, "NotFound");
}

TEST_F(Fixture, BadSpecsAre400NamingTheKey) {
    expectError(call("POST", "/v1/builds", "{", true), 400, "InvalidSpec");
    expectError(call("POST", "/v1/builds", "[]", true), 400, "InvalidSpec");
    auto r =
        call("POST", "/v1/builds",
             R"({"type":"boot","arch":"x86_64","release":"f40","kickstart":"k","colour":1})", true);
    expectError(r, 400, "InvalidSpec");
    EXPECT_NE(r.body.find("colour"), std::string::npos);
    r = call("POST", "/v1/builds", R"({"type":"boot","arch":"x86_64","release":"f40"})", true);
    EXPECT_NE(r.body.find("'kickstart' is required"), std::string::npos);
}

TEST_F(Fixture, FormSubmitIsFlattenedAndTakesTheJsonPath) {
    Request r;
    r.method = "POST";
    r.path = "/v1/builds";
    r.headers["authorization"] = "Bearer s";
    r.headers["content-type"] = "multipart/form-data; boundary=x";
    r.form = {{"type", "", "boot"},
              {"arch", "", "x86_64"},
              {"release", "", "f40"},
              {"label", "", "team=qa"},
              {"kickstart", "", "lang C\n"}};
    auto answer = app.dispatch(r);
    ASSERT_EQ(answer.status, 201u) << answer.body;
    EXPECT_EQ(agent->lastSpec.at("kickstart").get<std::string>(), "lang C\n");
    auto labels = agent->lastSpec.at("labels").get<std::map<std::string, std::string>>();
    EXPECT_EQ(labels.at("team"), "qa");
    EXPECT_EQ(agent->lastSpec.at("submitter").get<std::string>(), "alice");
    // The form became a JSON request; make it a form again.
    r.headers["content-type"] = "multipart/form-data; boundary=x";
    r.form = {{"type", "", "boot"},
              {"arch", "", "s390x"},
              {"release", "", "f40"},
              {"kickstart", "", "%include x.ks\n"}};
    answer = app.dispatch(r);
    expectError(answer, 400, "InvalidKickstart");
    EXPECT_NE(answer.body.find("kickstart:1:"), std::string::npos) << answer.body;
    r.headers["content-type"] = "multipart/form-data; boundary=x";
    r.form[3].value = "lang C\n";
    expectError(app.dispatch(r), 422, "Unsupported");
}

TEST_F(Fixture, NoHostServingTheSpecIs422WithTheFleet) {
    auto r = call("POST", "/v1/builds",
                  R"({"type":"boot","arch":"s390x","release":"f40","kickstart":"k"})", true);
    expectError(r, 422, "Unsupported");
    auto fleet = json::parse(r.body)["fleet"];
    ASSERT_EQ(fleet.size(), 1u);
    EXPECT_EQ(fleet[0]["arches"], json::array({"x86_64"}));
}

TEST_F(Fixture, AgentErrorsGoThroughTheTable) {
    agent->submitError = dbus_names::error::kQueueFull;
    expectError(call("POST", "/v1/builds", kSpec, true), 503, "QueueFull");
    expectError(call("GET", "/v1/builds/testhost-9"), 404, "NotFound");
    expectError(call("DELETE", "/v1/builds/testhost-1", "", true), 409, "AlreadyFinished");
}

TEST_F(Fixture, BuildIdsRouteByTheirHost) {
    EXPECT_EQ(call("GET", "/v1/builds/testhost-1").status, 200u);
    expectError(call("GET", "/v1/builds/not-an-id"), 404, "NotFound");
    expectError(call("GET", "/v1/builds/otherhost-1"), 404, "NotFound");
    expectError(call("GET", "/v1/builds/..%2F..-1"), 404, "NotFound");
}

TEST_F(Fixture, FleetListSaysWhatDidNotAnswer) {
    auto body = json::parse(call("GET", "/v1/builds").body);
    ASSERT_EQ(body["builds"].size(), 1u);
    EXPECT_EQ(body["builds"][0]["id"], "testhost-1");
    EXPECT_EQ(body["unreachable"], json::array());
}

// GET /v1/builds against an agent with 120 builds: pages, filters, revalidation.
TEST_F(Web, BuildListPagesByCursor) {
    auto first =
        call(get("/v1/builds", {{"state", "failed"}, {"limit", "30"}, {"order", "newest"}}));
    ASSERT_EQ(first.status, 200u) << first.body;
    auto body = json::parse(first.body);
    EXPECT_FALSE(body.contains("total"));
    ASSERT_EQ(body["builds"].size(), 30u);
    EXPECT_EQ(body["builds"][0]["id"], "h-120");
    EXPECT_EQ(body["builds"][29]["id"], "h-33");
    // The agent was asked for a page, not its whole list.
    ASSERT_TRUE(agent->asked);
    EXPECT_EQ(agent->asked->limit, 30u);
    ASSERT_TRUE(body["next_cursor"].is_string());
    auto second = call(get("/v1/builds", {{"state", "failed"},
                                          {"limit", "30"},
                                          {"order", "newest"},
                                          {"cursor", body["next_cursor"]}}));
    ASSERT_EQ(second.status, 200u) << second.body;
    body = json::parse(second.body);
    ASSERT_EQ(body["builds"].size(), 10u);
    EXPECT_EQ(body["builds"][0]["id"], "h-30");
    EXPECT_EQ(body["builds"][9]["id"], "h-3");
    EXPECT_TRUE(body["next_cursor"].is_null());
    auto bad = call(get("/v1/builds", {{"limit", "3"}, {"cursor", "h-3"}}));
    EXPECT_EQ(bad.status, 400u);
    EXPECT_NE(json::parse(bad.body)["message"].get<std::string>().find("cursor"),
              std::string::npos);
}

TEST_F(Web, BuildListIsFilteredPagedAndRevalidated) {
    auto first =
        call(get("/v1/builds",
                 {{"state", "failed"}, {"limit", "30"}, {"offset", "0"}, {"order", "newest"}}));
    ASSERT_EQ(first.status, 200u) << first.body;
    auto body = json::parse(first.body);
    EXPECT_EQ(body["total"], 40);
    EXPECT_EQ(body["builds"].size(), 30u);
    EXPECT_EQ(body["builds"][0]["id"], "h-120");
    EXPECT_EQ(body["next"], 30);
    // The same question again with the ETag: 304, nothing sent.
    auto again = get("/v1/builds",
                     {{"state", "failed"}, {"limit", "30"}, {"offset", "0"}, {"order", "newest"}});
    again.headers["if-none-match"] = headerOf(first, "ETag");
    auto notModified = call(again);
    EXPECT_EQ(notModified.status, 304u);
    EXPECT_TRUE(notModified.body.empty());
    // A new build changes the answer.
    agent->builds.push_back(info("h-121", "failed", 121));
    auto changed = call(again);
    EXPECT_EQ(changed.status, 200u);
    EXPECT_EQ(json::parse(changed.body)["builds"][0]["id"], "h-121");
    // A bad parameter is a 400 naming it.
    auto bad = call(get("/v1/builds", {{"limit", "x"}}));
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(json::parse(bad.body)["error"], "InvalidQuery");
    // A host filter naming another host leaves this one out.
    agent->asked.reset();
    EXPECT_EQ(json::parse(call(get("/v1/builds", {{"host", "other"}})).body)["total"], 0);
    EXPECT_FALSE(agent->asked);
}

// The agent filters what it can: builds that cannot match never cross the bus.
TEST_F(Web, BuildListFiltersAreAskedOfTheAgent) {
    auto r = call(get("/v1/builds", {{"state", "failed,queued"},
                                     {"arch", "x86_64"},
                                     {"release", "40"},
                                     {"type", "oemdrv"},
                                     {"limit", "5"}}));
    ASSERT_EQ(r.status, 200u) << r.body;
    ASSERT_TRUE(agent->asked);
    EXPECT_EQ(agent->asked->states, (std::vector<std::string>{"failed", "queued"}));
    EXPECT_EQ(agent->asked->arch, "x86_64");
    EXPECT_EQ(agent->asked->release, "40");
    EXPECT_EQ(agent->asked->type, "oemdrv");
}
