// The monitor stream's format (query, then Accept), HTML escaped, never blank.
#include <gtest/gtest.h>

#include "forwarder/html.hpp"
#include "forwarder/monitor_stream.hpp"
#include "forwarder/sse.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;

TEST(ForwarderMonitor, FormatFollowsQueryThenAccept) {
    Request r;
    EXPECT_EQ(chooseMonitorFormat(r), MonitorFormat::Text);
    r.headers["accept"] = "text/html,application/xhtml+xml,*/*;q=0.8";
    EXPECT_EQ(chooseMonitorFormat(r), MonitorFormat::Html);
    r.headers["accept"] = "text/event-stream";
    EXPECT_EQ(chooseMonitorFormat(r), MonitorFormat::EventStream);
    r.query["format"] = "text";
    EXPECT_EQ(chooseMonitorFormat(r), MonitorFormat::Text);
    EXPECT_STREQ(contentTypeOf(MonitorFormat::EventStream), "text/event-stream");
}

TEST(ForwarderMonitor, HtmlIsEscaped) {
    EXPECT_EQ(htmlEscape("<script>\"a\" & 'b'</script>"),
              "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;");
    BuildInfo build;
    build.id = "a-1";
    build.state = "running";
    build.name = "<img src=x onerror=alert(1)>";
    auto head = monitorPageHead(build);
    EXPECT_EQ(head.find("<img"), std::string::npos);
    auto tail = monitorPageTail(build, "s=x\"></div><script>alert(1)", false);
    EXPECT_EQ(tail.find("<script>alert"), std::string::npos);
    EXPECT_NE(tail.find("data-after=\"s=x&quot;&gt;&lt;/div&gt;&lt;script&gt;"), std::string::npos);
    // No inline script or style: the page's CSP would block it.
    EXPECT_EQ((head + tail).find("<script>"), std::string::npos);
    EXPECT_EQ((head + tail).find("<style"), std::string::npos);
    EXPECT_NE(tail.find("src=\"/static/monitor.js\""), std::string::npos);
}

TEST(ForwarderMonitor, QueuedBuildIsNeverBlank) {
    BuildInfo build;
    build.id = "a-1";
    build.state = "queued";
    auto tail = monitorPageTail(build, "", true);
    EXPECT_NE(tail.find("Build a-1 is queued"), std::string::npos);
    build.state = "failed";
    build.result = "failed";
    build.finishedAt = 1;
    EXPECT_EQ(stateSentence(build), "Build a-1 has ended: failed.");
    // A finished build's page does not try to follow.
    EXPECT_EQ(monitorPageTail(build, "", false).find("monitor.js"), std::string::npos);
}
