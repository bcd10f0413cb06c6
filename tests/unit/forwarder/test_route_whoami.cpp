#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/sha256.hpp"
#include "forwarder/app.hpp"
#include "tests/unit/forwarder/http_testing.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using namespace imagebuild::testing;
using json = nlohmann::json;

// GET /v1/whoami: the sign-in box checks a token with it before keeping it;
// answered on the gate's loop.
TEST(ForwarderWhoami, NamesTheTokenOrRefusesWith401) {
    auto tokens = TokenStore::parse(
        "alice " + sha256Hex("alice-secret") + "\ncarol " + sha256Hex("carol-secret") + " read\n",
        "tokens");
    App app(parseConfig("[forwarder]\n", "x"), std::move(tokens), "h");
    registerRoutes(app);
    auto whoami = [&](const std::string& authorization) {
        Request r = get("/v1/whoami");
        if (!authorization.empty()) {
            r.headers["authorization"] = authorization;
        }
        // Memory only (no bus, no peer): the gate's loop answers it.
        auto onLoop = app.answerOnLoop(r);
        EXPECT_TRUE(onLoop.response.has_value());
        return onLoop.response ? *onLoop.response : Response{};
    };
    auto alice = whoami("Bearer alice-secret");
    ASSERT_EQ(alice.status, 200u) << alice.body;
    EXPECT_EQ(json::parse(alice.body), (json{{"name", "alice"}, {"role", "write"}}));
    auto carol = whoami("Bearer carol-secret");
    ASSERT_EQ(carol.status, 200u) << carol.body;
    EXPECT_EQ(json::parse(carol.body), (json{{"name", "carol"}, {"role", "read"}}));
    // Reads are open, but without a token there is nobody to name.
    for (const std::string& bad : {std::string(), std::string("Bearer wrong"),
                                   std::string("Basic YWxpY2U6eA=="), std::string("Bearer ")}) {
        auto refused = whoami(bad);
        EXPECT_EQ(refused.status, 401u) << bad;
        auto body = json::parse(refused.body);
        EXPECT_EQ(body["error"], "Unauthorized") << bad;
        EXPECT_FALSE(body["message"].get<std::string>().empty()) << bad;
        EXPECT_EQ(headerOf(refused, "WWW-Authenticate"), "Bearer realm=\"imagebuild\"") << bad;
    }
    EXPECT_NE(
        json::parse(whoami("").body)["message"].get<std::string>().find("Authorization: Bearer"),
        std::string::npos);
}
