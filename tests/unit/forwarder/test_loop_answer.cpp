#include "forwarder/loop_answer.hpp"

#include <gtest/gtest.h>

#include "forwarder/json_error.hpp"

namespace imagebuild::forwarder {
namespace {

TEST(LoopAnswer, ABodilessGetIsReadWhole) {
    auto loop = loopRequestOfHead(
        "GET /v1/health?a=1&b&c= HTTP/1.1\r\nHost: h\r\nX-Thing:  two words \r\n\r\n");
    ASSERT_TRUE(loop);
    EXPECT_EQ(loop->request.method, "GET");
    EXPECT_EQ(loop->request.path, "/v1/health");
    EXPECT_EQ(loop->request.queryValue("a"), "1");
    EXPECT_EQ(loop->request.query.count("b"), 1u);
    EXPECT_EQ(loop->request.queryValue("c"), "");
    EXPECT_EQ(loop->request.header("x-thing"), "two words");
    EXPECT_EQ(loop->request.header("HOST"), "h");
    EXPECT_TRUE(loop->keepAlive);
    EXPECT_FALSE(loop->http10);
    EXPECT_EQ(loop->fields, 2u);
    // A repeated field counts each time (libmicrohttpd keeps each).
    EXPECT_EQ(loopRequestOfHead("GET / HTTP/1.1\r\nA: 1\r\nA: 2\r\nA: 3\r\n\r\n")->fields, 3u);
    // Bare LF line ends, as the gate accepts them.
    EXPECT_TRUE(loopRequestOfHead("HEAD / HTTP/1.1\nHost: h\n\n"));
}

TEST(LoopAnswer, WhatNeedsLibmicrohttpdIsHandedOff) {
    for (const char* head : {
             "POST /v1/health HTTP/1.1\r\nHost: h\r\n\r\n",
             "GET /v1/health HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n",
             "GET /v1/health HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
             "GET /v1/%68ealth HTTP/1.1\r\nHost: h\r\n\r\n",
             "GET /v1/health?q=a+b HTTP/1.1\r\nHost: h\r\n\r\n",
             "GET /v1/health HTTP/2.0\r\nHost: h\r\n\r\n",
             "GET http://h/v1/health HTTP/1.1\r\nHost: h\r\n\r\n",
             "GET /v1/health HTTP/1.1\r\nno colon here\r\n\r\n",
             "GET /v1/health HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
             "GET /v1/health HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
         }) {
        EXPECT_FALSE(loopRequestOfHead(head)) << head;
    }
    EXPECT_TRUE(loopRequestOfHead("GET /v1/health HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
}

TEST(LoopAnswer, KeepAliveFollowsLibmicrohttpdsRule) {
    EXPECT_FALSE(
        loopRequestOfHead("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n")->keepAlive);
    auto old = loopRequestOfHead("GET / HTTP/1.0\r\n\r\n");
    EXPECT_FALSE(old->keepAlive);
    EXPECT_TRUE(old->http10);
    EXPECT_TRUE(loopRequestOfHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")->keepAlive);
}

TEST(LoopAnswer, AnswerBytesAreAWholeHttpAnswer) {
    auto response = jsonResponse(200, R"({"status":"ok"})");
    response.headers.emplace_back("ETag", "\"x\"");
    const char* date = "Thu, 03 Dec 2026 21:00:00 GMT";
    EXPECT_EQ(loopAnswerBytes(response, false, false, date),
              "HTTP/1.1 200 OK\r\nDate: Thu, 03 Dec 2026 21:00:00 GMT\r\n"
              "Content-Type: application/json\r\nETag: \"x\"\r\nContent-Length: 16\r\n\r\n"
              "{\"status\":\"ok\"}\n");
    auto head = loopAnswerBytes(jsonError(404, "NotFound", "no"), true, true, date);
    EXPECT_EQ(head.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << head;  // HEAD: no body
}

TEST(LoopAnswer, TheDateIsAnHttpDate) {
    std::string date(httpDateNow());
    EXPECT_EQ(date.size(), 29u) << date;
    EXPECT_EQ(date.substr(date.size() - 4), " GMT") << date;
}

}  // namespace
}  // namespace imagebuild::forwarder
