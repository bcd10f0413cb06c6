#include <gtest/gtest.h>

#include "forwarder/router.hpp"

using namespace imagebuild::forwarder;

namespace {

Router makeRouter() {
    Router router;
    auto named = [](std::string name) {
        return [name](Request&) {
            Response r;
            r.body = name;
            return r;
        };
    };
    router.add("GET", "/v1/builds", Access::Read, named("list"));
    router.add("POST", "/v1/builds", Access::Write, named("submit"));
    router.add("GET", "/v1/builds/{id}", Access::Read, named("get"));
    router.add("GET", "/artifacts/{id}/{name}", Access::Read, named("artifact"));
    return router;
}

std::string call(const RouteMatch& match) {
    Request request;
    return match.route->handler(request).body;
}

}  // namespace

TEST(ForwarderRouter, LiteralRoutesMatchByMethod) {
    auto router = makeRouter();
    EXPECT_EQ(call(router.match("GET", "/v1/builds")), "list");
    EXPECT_EQ(call(router.match("POST", "/v1/builds")), "submit");
    EXPECT_EQ(router.match("POST", "/v1/builds").route->access, Access::Write);
}

TEST(ForwarderRouter, NamedSegmentsBecomeParams) {
    auto router = makeRouter();
    auto match = router.match("GET", "/artifacts/a-7/boot.iso");
    ASSERT_NE(match.route, nullptr);
    EXPECT_EQ(call(match), "artifact");
    EXPECT_EQ(match.params.at("id"), "a-7");
    EXPECT_EQ(match.params.at("name"), "boot.iso");
}

TEST(ForwarderRouter, WrongMethodOnKnownPathIsFlaggedFor405) {
    auto router = makeRouter();
    auto match = router.match("DELETE", "/v1/builds");
    EXPECT_EQ(match.route, nullptr);
    EXPECT_TRUE(match.pathKnown);
}

TEST(ForwarderRouter, UnknownPathsAndExtraSegmentsDoNotMatch) {
    auto router = makeRouter();
    for (const char* path : {"/v1/nothing", "/v1/builds/a-1/extra", "/v1/builds/", "/v1//a-1",
                             "/artifacts/a-1", "/artifacts/a-1//x", "v1/builds", ""}) {
        auto match = router.match("GET", path);
        EXPECT_EQ(match.route, nullptr) << path;
        EXPECT_FALSE(match.pathKnown) << path;
    }
}

TEST(ForwarderRouter, HeadIsServedByGet) {
    auto router = makeRouter();
    EXPECT_EQ(call(router.match("HEAD", "/v1/builds/a-1")), "get");
}

TEST(ForwarderRouter, SplitPathKeepsEmptySegments) {
    EXPECT_EQ(splitPath("/a//b"), (std::vector<std::string>{"a", "", "b"}));
    EXPECT_EQ(splitPath("/"), (std::vector<std::string>{""}));
}
