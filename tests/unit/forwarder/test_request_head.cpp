// The request head the gate checks before libmicrohttpd sees a connection.
#include <gtest/gtest.h>

#include <string>

#include "forwarder/request_head.hpp"

using namespace imagebuild::forwarder;

namespace {

std::optional<HeadProblem> check(const std::string& head, HeadLimits limits = {}) {
    return checkRequestHead(head, limits);
}

void expectRefused(const std::string& head, unsigned status, const std::string& part,
                   HeadLimits limits = {}) {
    auto problem = check(head, limits);
    ASSERT_TRUE(problem) << head;
    EXPECT_EQ(problem->status, status) << head;
    EXPECT_NE(problem->message.find(part), std::string::npos) << problem->message;
}

}  // namespace

TEST(ForwarderRequestHead, LengthIsThroughTheEmptyLine) {
    EXPECT_EQ(headLength("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"), 27u);
    EXPECT_EQ(headLength("GET / HTTP/1.1\nHost: a\n\nbody"), 24u);
    EXPECT_EQ(headLength("\r\nGET / HTTP/1.0\r\n\r\n"), 20u);
    EXPECT_EQ(headLength("GET / HTTP/1.1\r\nHost: a\r\n"), 0u);
    EXPECT_EQ(headLength(""), 0u);
    EXPECT_EQ(headLength("\r\n\r\n"), 0u);
}

TEST(ForwarderRequestHead, OrdinaryRequestsPass) {
    EXPECT_FALSE(check("GET /v1/health HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"));
    EXPECT_FALSE(check("POST /v1/builds HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n"));
    EXPECT_FALSE(check("GET /monitor/a-1?follow=1 HTTP/1.0\r\n\r\n"));
    EXPECT_FALSE(check("GET /a%20b HTTP/1.1\nHost: a\n\n"));
}

TEST(ForwarderRequestHead, NulInTheTargetNamesPathOrQuery) {
    expectRefused("GET /v1/builds/a-1%00x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "URL path");
    expectRefused("GET /v1/builds?label=a%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "URL query");
    expectRefused(std::string("GET /a HTTP/1.1\r\nHost: a\0b\r\n\r\n", 26), 400, "NUL byte");
}

TEST(ForwarderRequestHead, ContentLengthOnceAndAlone) {
    expectRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                  400, "Content-Length is given twice");
    expectRefused("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\nCONTENT-LENGTH: 9\r\n\r\n",
                  400, "given twice");
    expectRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400,
                  "not a number");
    expectRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "not a number");
    expectRefused(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        400, "both given");
}

// A chunked body is decoded inside libmicrohttpd, where a malformed one is
// answered with its HTML: a body needs a Content-Length.
TEST(ForwarderRequestHead, ABodyWithoutContentLengthIs411) {
    expectRefused("POST /v1/builds HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411,
                  "needs a Content-Length");
    expectRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 411, "chunked");
    expectRefused(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        400, "given twice");
}

TEST(ForwarderRequestHead, WhatLibmicrohttpdWouldRefuseIsOurs) {
    expectRefused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/2.0");
    expectRefused("GET / FTP/1.0\r\n\r\n", 400, "not an HTTP version");
    expectRefused("GET /\r\n\r\n", 400, "request line");
    expectRefused("GET / HTTP/1.1\r\n\r\n", 400, "needs a Host");
    expectRefused("GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n", 400, "Name: value");
    expectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  folded\r\n\r\n", 400, "folded");
    expectRefused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "not a token");
    expectRefused("GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "starting with '/'");
    expectRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host is given twice");
}

TEST(ForwarderRequestHead, SizesAreLimited) {
    HeadLimits limits;
    limits.maxTargetBytes = 100;
    limits.maxHeaderFields = 3;
    limits.maxHeadBytes = 300;
    expectRefused("GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "100",
                  limits);
    expectRefused("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431,
                  "more than 3 header fields", limits);
    auto partial = checkPartialHead("GET /" + std::string(200, 'a'), limits);
    ASSERT_TRUE(partial);
    EXPECT_EQ(partial->status, 414u);
    partial = checkPartialHead("GET / HTTP/1.1\r\nX: " + std::string(300, 'a'), limits);
    ASSERT_TRUE(partial);
    EXPECT_EQ(partial->status, 431u);
    EXPECT_FALSE(checkPartialHead("GET / HTTP/1.1\r\nHost:", limits));
}
