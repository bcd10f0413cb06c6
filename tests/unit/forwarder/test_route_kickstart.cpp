#include <gtest/gtest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/sha256.hpp"
#include "forwarder/app.hpp"
#include "tests/unit/forwarder/http_testing.hpp"
#include "tests/unit/forwarder/list_agent.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using namespace imagebuild::testing;
using json = nlohmann::json;

// A kickstart may hold password hashes: the token that submitted the build
// (through this forwarder, whose uid the agent records) or an admin token.
TEST(ForwarderKickstart, PlainTextForItsSubmitterOrAnAdminOnly) {
    auto tokens = TokenStore::parse(
        "alice " + sha256Hex("alice-secret") + "\nbob " + sha256Hex("bob-secret") + "\nops " +
            sha256Hex("ops-secret") + " admin\nfleet " + sha256Hex("fleet-secret") + "\n",
        "tokens");
    App app(parseConfig("[forwarder]\n", "x"), std::move(tokens), "h");
    auto fake = std::make_unique<ListAgent>();
    auto viaHttp = info("h-3", "succeeded", 3);
    viaHttp.submitter = "alice";
    viaHttp.submitterUid = getuid();
    auto onHost = info("h-4", "succeeded", 4);
    onHost.submitter = "alice";  // a local user of that name, not the token
    onHost.submitterUid = getuid() + 1;
    fake->builds = {viaHttp, onHost};
    app.setAgent(std::move(fake));
    registerRoutes(app);
    auto read = [&](const std::string& path, const std::string& token) {
        Request r = get(path);
        if (!token.empty()) {
            r.headers["authorization"] = "Bearer " + token;
        }
        return app.dispatch(r);
    };
    auto r = read("/v1/builds/h-3/kickstart", "alice-secret");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.contentType, "text/plain; charset=utf-8");
    EXPECT_EQ(headerOf(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_NE(r.body.find("<script>"), std::string::npos);
    EXPECT_EQ(read("/v1/builds/h-3/kickstart", "ops-secret").status, 200u);
    EXPECT_EQ(read("/v1/builds/h-4/kickstart", "ops-secret").status, 200u);
    auto anonymous = read("/v1/builds/h-3/kickstart", "");
    EXPECT_EQ(anonymous.status, 401u);
    EXPECT_EQ(json::parse(anonymous.body)["error"], "Unauthorized");
    EXPECT_EQ(read("/v1/builds/h-3/kickstart", "fleet-secret").status, 401u);
    auto bob = read("/v1/builds/h-3/kickstart", "bob-secret");
    EXPECT_EQ(bob.status, 403u);
    EXPECT_NE(json::parse(bob.body)["message"].get<std::string>().find("submitted by 'alice'"),
              std::string::npos);
    EXPECT_EQ(read("/v1/builds/h-4/kickstart", "alice-secret").status, 403u);
    EXPECT_EQ(read("/v1/builds/h-999/kickstart", "ops-secret").status, 404u);
    EXPECT_EQ(read("/v1/builds/../kickstart", "ops-secret").status, 404u);
}
