// Every error the forwarder answers is {"error", "message"}, valid JSON
// whatever the message holds.
#include "forwarder/json_error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace imagebuild::forwarder;
using json = nlohmann::json;

TEST(ForwarderJsonErrors, ShapeIsErrorAndMessage) {
    auto r = jsonError(418, "Teapot", "short and \"stout\"");
    EXPECT_EQ(r.status, 418u);
    EXPECT_EQ(json::parse(r.body), (json{{"error", "Teapot"}, {"message", "short and \"stout\""}}));
    // Invalid UTF-8 from user input must not break the JSON.
    EXPECT_NO_THROW(json::parse(jsonError(400, "X", "bad \xff byte").body));
}

TEST(ForwarderJsonErrors, ASummaryNamesTheErrorAndItsMessage) {
    EXPECT_EQ(errorSummary(jsonError(504, "AgentTimeout", "no reply from the agent")),
              "AgentTimeout: no reply from the agent");
    EXPECT_EQ(errorSummary(jsonResponse(200, "{\"id\": \"a-1\"}")), "");
    EXPECT_EQ(errorSummary(jsonResponse(502, "not json")), "");
    Response html;
    html.contentType = "text/html";
    html.body = "{\"error\": \"X\"}";
    EXPECT_EQ(errorSummary(html), "");
}
