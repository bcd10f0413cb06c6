// Conditional GET: an ETag on whole GET answers, 304 when it still matches.
#include <gtest/gtest.h>

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
