// Conditional GET: an ETag on whole GET answers, 304 when it still matches.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string_view>

#include "forwarder/http_cache.hpp"
#include "tests/unit/forwarder/http_testing.hpp"

using namespace imagebuild::forwarder;
using namespace imagebuild::testing;

TEST(ForwarderHttpCache, EtagAnd304ForWholeGetAnswers) {
    Request r = get("/v1/hosts");
    Response a;
    a.body = "{\"hosts\":[]}";
    applyConditionalGet(r, a);
    auto etag = headerOf(a, "ETag");
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(a.status, 200u);
    r.headers["if-none-match"] = etag;
    Response b;
    b.body = a.body;
    applyConditionalGet(r, b);
    EXPECT_EQ(b.status, 304u);
    EXPECT_TRUE(b.body.empty());
    Response changed;
    changed.body = "{\"hosts\":[1]}";
    applyConditionalGet(r, changed);
    EXPECT_EQ(changed.status, 200u);
    EXPECT_NE(headerOf(changed, "ETag"), etag);
    // Not for writes, errors or streams.
    Request post = r;
    post.method = "POST";
    Response c;
    c.body = a.body;
    applyConditionalGet(post, c);
    EXPECT_EQ(headerOf(c, "ETag"), "");
    EXPECT_TRUE(etagMatches("W/" + etag, etag));
    EXPECT_TRUE(etagMatches("*", etag));
    EXPECT_FALSE(etagMatches("", etag));
}

// The tag's shape is what clients stored before: the hash as 16 hex digits,
// zero-padded, and the length in hex, quoted.
TEST(ForwarderHttpCache, EtagIsSixteenHexDigitsOfHashAndTheLength) {
    for (std::string body : {std::string(), std::string("x"), std::string(300, 'y')}) {
        char hash[17];
        std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string_view>{}(body));
        char length[17];
        std::snprintf(length, sizeof length, "%zx", body.size());
        EXPECT_EQ(etagOfBody(body), "\"" + std::string(hash) + "-" + length + "\"") << body;
    }
}
