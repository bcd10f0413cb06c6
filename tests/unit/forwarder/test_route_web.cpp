// The web interface's routes: pages with their security headers and the
// dashboard's preloaded first page, static files with types and revalidation,
// nothing outside /static reachable.
#include <gtest/gtest.h>

#include "forwarder/app.hpp"
#include "forwarder/web_files.hpp"
#include "tests/unit/forwarder/http_testing.hpp"
#include "tests/unit/forwarder/list_agent.hpp"

using namespace imagebuild::forwarder;
using namespace imagebuild::testing;

// The dashboard names the builds page its script asks for first in a
// <link rel="preload">: the view in the page's URL, encoded as URLSearchParams does.
TEST_F(Web, DashboardPreloadsItsFirstBuildsPage) {
    auto plain = call(get("/"));
    ASSERT_EQ(plain.status, 200u);
    EXPECT_NE(
        plain.body.find(
            "<link rel=\"preload\" href=\"/v1/builds?order=newest&amp;limit=50\" as=\"fetch\""),
        std::string::npos)
        << plain.body.substr(0, 600);
    auto filtered = call(get("/", {{"release", "40 beta"},
                                   {"state", "queued,running"},
                                   {"cursor", "1700000000000000.h-5"},
                                   {"x", "<script>"}}));
    EXPECT_NE(filtered.body.find("href=\"/v1/builds?order=newest&amp;limit=50&amp;"
                                 "cursor=1700000000000000.h-5&amp;"
                                 "state=queued%2Crunning&amp;release=40+beta\""),
              std::string::npos)
        << filtered.body.substr(0, 600);
    auto odd = call(get("/", {{"cursor", "<x y>"}, {"type", "<a\"b>"}}));
    EXPECT_NE(odd.body.find("cursor=%3Cx+y%3E&amp;type=%3Ca%22b%3E\""), std::string::npos);
}

TEST_F(Web, PagesCarryTheContentSecurityPolicy) {
    for (const char* path : {"/", "/submit", "/builds/h-3"}) {
        auto r = call(get(path));
        EXPECT_EQ(r.status, 200u) << path;
        EXPECT_EQ(r.contentType, "text/html; charset=utf-8") << path;
        auto csp = headerOf(r, "Content-Security-Policy");
        EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path;
        EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
        EXPECT_EQ(headerOf(r, "X-Content-Type-Options"), "nosniff");
        // Every page has the shared top bar (www/header.html) and no placeholder left.
        EXPECT_NE(r.body.find("<form id=\"signin-form\">"), std::string::npos) << path;
        EXPECT_EQ(r.body.find("{{"), std::string::npos) << path;
    }
    auto page = call(get("/builds/h-3")).body;
    EXPECT_NE(page.find("data-build=\"h-3\""), std::string::npos);
    EXPECT_NE(page.find("href=\"/monitor/h-3?format=html\""), std::string::npos);
    EXPECT_EQ(page.find("{{"), std::string::npos);
    // Not an id: an HTML 404 that shows the input as text.
    auto bad = call(get("/builds/<script>x"));
    EXPECT_EQ(bad.status, 404u);
    EXPECT_EQ(bad.body.find("<script>x"), std::string::npos);
    EXPECT_NE(bad.body.find("&lt;script&gt;x"), std::string::npos);
    EXPECT_FALSE(headerOf(bad, "Content-Security-Policy").empty());
}

TEST_F(Web, StaticFilesHaveTypesAndRevalidate) {
    auto css = call(get("/static/app.css"));
    ASSERT_EQ(css.status, 200u);
    ASSERT_TRUE(css.file);
    EXPECT_EQ(css.contentType, "text/css; charset=utf-8");
    EXPECT_EQ(headerOf(css, "Cache-Control"), "no-cache");
    EXPECT_EQ(call(get("/static/dashboard.js")).contentType, "text/javascript; charset=utf-8");
    EXPECT_EQ(call(get("/static/favicon.svg")).contentType, "image/svg+xml");
    auto again = get("/static/app.css");
    again.headers["if-none-match"] = headerOf(css, "ETag");
    EXPECT_EQ(call(again).status, 304u);
}

TEST_F(Web, NothingOutsideStaticIsReachable) {
    for (const char* path :
         {"/static/..", "/static/.hidden.js", "/static/../index.html", "/static/..%2Findex.html",
          "/static/index", "/static/x.exe", "/static/missing.js", "/static/", "/static/-x.js"}) {
        EXPECT_EQ(call(get(path)).status, 404u) << path;
    }
    EXPECT_FALSE(staticContentType("a/b.js"));
    EXPECT_FALSE(staticContentType(".."));
    EXPECT_FALSE(staticContentType("x.js%00"));
}
