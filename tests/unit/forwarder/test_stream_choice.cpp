// Which first heads the gate hands to the stream loop: followers of a
// build's log whose heads fit its small pools; to the request loop: the
// rest, downloads, logs read to their end and other followers too.
#include <gtest/gtest.h>

#include <string>

#include "forwarder/stream_choice.hpp"

using namespace imagebuild::forwarder;

namespace {

std::string head(const std::string& requestLine, const std::string& fields = "") {
    return requestLine + "\r\nHost: alpha:8470\r\n" + fields + "\r\n";
}

bool servedOnStreamLoop(const std::string& head) {
    return daemonFor(head) == ServedBy::StreamLoop;
}

bool onLoop(const std::string& requestLine, const std::string& fields = "") {
    return servedOnStreamLoop(head(requestLine, fields));
}

}  // namespace

TEST(ForwarderStreamChoice, FollowersOfALocalBuildGoToTheLoop) {
    EXPECT_TRUE(onLoop("GET /monitor/alpha-12 HTTP/1.1", "Accept: text/event-stream\r\n"));
    EXPECT_TRUE(onLoop("GET /monitor/alpha-12?format=sse HTTP/1.1"));
    EXPECT_TRUE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.0"));
    EXPECT_TRUE(onLoop("GET /monitor/alpha-12?follow=1&format=text HTTP/1.1"));
    // Resuming (Last-Event-ID, ?after=) is the loop's too.
    EXPECT_TRUE(onLoop("GET /monitor/alpha-12 HTTP/1.1",
                       "Accept: text/event-stream\r\nLast-Event-ID: s=1;i=2\r\n"));
    // Header names in any case, bare LF line ends.
    EXPECT_TRUE(servedOnStreamLoop(
        "GET /monitor/alpha-12 HTTP/1.1\nACCEPT: text/event-stream\nhost: a\n\n"));
}

TEST(ForwarderStreamChoice, WhatIsNotFollowedIsNotTheStreamLoops) {
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12 HTTP/1.1"));  // the log once, as text
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=0 HTTP/1.1"));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.1", "Accept: text/html\r\n"));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1&format=html HTTP/1.1"));
    EXPECT_FALSE(onLoop("GET /v1/health HTTP/1.1", "Accept: text/event-stream\r\n"));
    EXPECT_FALSE(onLoop("GET /v1/builds/alpha-12?follow=1 HTTP/1.1"));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12/x?follow=1 HTTP/1.1"));
    EXPECT_FALSE(onLoop("GET /monitor/?follow=1 HTTP/1.1"));
    EXPECT_FALSE(onLoop("GET /monitor/..?follow=1 HTTP/1.1"));
}

TEST(ForwarderStreamChoice, APeersBuildIsFollowedOnTheLoopToo) {
    // The hub relays its owner's stream: no thread holds it.
    EXPECT_TRUE(onLoop("GET /monitor/beta-3?follow=1 HTTP/1.1"));
    EXPECT_TRUE(onLoop("GET /monitor/beta-3 HTTP/1.1", "Accept: text/event-stream\r\n"));
    EXPECT_TRUE(onLoop("GET /monitor/beta-3?follow=1 HTTP/1.1", "X-Imagebuild-Forwarded: 1\r\n"));
    EXPECT_FALSE(onLoop("GET /monitor/beta-3 HTTP/1.1"));  // once, as text
}

TEST(ForwarderStreamChoice, AnythingElseAboutAFollowersHeadIsNotTheStreamLoops) {
    EXPECT_FALSE(onLoop("HEAD /monitor/alpha-12?follow=1 HTTP/1.1"));
    EXPECT_FALSE(onLoop("POST /monitor/alpha-12?follow=1 HTTP/1.1", "Content-Length: 0\r\n"));
    // A body, or an answer that is not the stream.
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.1", "Content-Length: 2\r\n"));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.1", "Expect: 100-continue\r\n"));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.1", "Upgrade: websocket\r\n"));
    // Escapes are libmicrohttpd's to decode, not the choice's.
    EXPECT_FALSE(onLoop("GET /monitor/alpha%2D12?follow=1 HTTP/1.1"));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=%31 HTTP/1.1"));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1&after=a+b HTTP/1.1"));
    // A leading empty line (allowed before a request line).
    EXPECT_FALSE(servedOnStreamLoop("\r\n" + head("GET /monitor/alpha-12?follow=1 HTTP/1.1")));
}

TEST(ForwarderStreamChoice, ALargeHeadIsNotTheStreamLoops) {
    auto fields = "Cookie: " + std::string(kStreamLoopMaxHeadBytes, 'c') + "\r\n";
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.1", fields));
    auto small = head("GET /monitor/alpha-12?follow=1 HTTP/1.1");
    auto fits = "X-Pad: " + std::string(kStreamLoopMaxHeadBytes - small.size() - 9, 'p') + "\r\n";
    auto largest = head("GET /monitor/alpha-12?follow=1 HTTP/1.1", fits);
    ASSERT_EQ(largest.size(), kStreamLoopMaxHeadBytes);
    EXPECT_TRUE(servedOnStreamLoop(largest));
}

TEST(ForwarderStreamChoice, AHeadOfManyFieldsIsNotTheStreamLoops) {
    std::string fields;
    for (std::size_t i = 1; i < kStreamLoopMaxHeaderFields; ++i) {  // and Host
        fields += "X-" + std::to_string(i) + ": v\r\n";
    }
    EXPECT_TRUE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.1", fields));
    EXPECT_FALSE(onLoop("GET /monitor/alpha-12?follow=1 HTTP/1.1", fields + "X-More: v\r\n"));
}

ServedBy servedBy(const std::string& requestLine) {
    return daemonFor(head(requestLine));
}

TEST(ForwarderStreamChoice, AnswersWholeInMemoryGoToTheRequestLoop) {
    EXPECT_EQ(servedBy("GET /v1/builds?state=running HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("POST /v1/builds HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("DELETE /v1/builds/alpha-12 HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET / HTTP/1.1"), ServedBy::RequestLoop);  // the web UI
    EXPECT_EQ(servedBy("GET /metrics HTTP/1.0"), ServedBy::RequestLoop);
    // A percent-escape in the query is decoded into a value, never a path.
    EXPECT_EQ(servedBy("GET /v1/builds?label=a%20b HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /monitor/alpha-12?follow=1 HTTP/1.1"), ServedBy::StreamLoop);
}

// A peer's artifact or log relayed and a journal read block as they
// stream: the request loop reads them ahead on a worker (stream_pump.hpp).
// A local artifact is sent from its file.
TEST(ForwarderStreamChoice, DownloadsAndLogsReadToTheirEndGoToTheRequestLoop) {
    EXPECT_EQ(servedBy("GET /artifacts/alpha-12/boot.iso HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("HEAD /artifacts/alpha-12/boot.iso HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /monitor/alpha-12 HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /monitor/alpha-12?format=html HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /monitor/alpha-12?follow=1&format=html HTTP/1.1"),
              ServedBy::RequestLoop);  // the page follows with an EventSource of its own
    EXPECT_EQ(servedBy("HEAD /monitor/alpha-12 HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /monitor/alpha-12/x HTTP/1.1"), ServedBy::RequestLoop);  // a 404
    EXPECT_EQ(servedBy("GET /%61rtifacts/alpha-12/boot%20image.iso HTTP/1.1"),
              ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /v1/builds/alpha%2D12 HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /web/100%.css HTTP/1.1"), ServedBy::RequestLoop);
}

// A follower the stream loop cannot hold (its head too large, not a GET,
// or escaped) parks on the request loop as it would on the stream loop, in
// a larger memory pool; so does anything the choice cannot read.
TEST(ForwarderStreamChoice, FollowersTheStreamLoopCannotHoldGoToTheRequestLoop) {
    EXPECT_EQ(servedBy("HEAD /monitor/alpha-12?follow=1 HTTP/1.1"), ServedBy::RequestLoop);
    auto large = head("GET /monitor/alpha-12?follow=1 HTTP/1.1",
                      "Cookie: " + std::string(kStreamLoopMaxHeadBytes, 'c') + "\r\n");
    EXPECT_EQ(daemonFor(large), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /monitor/alpha-12?follow=%31 HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /monitor%2Falpha-12?follow=1 HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET /%6Donitor/alpha-12?follow=1 HTTP/1.1"), ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("GET http://alpha/monitor/alpha-12?follow=1 HTTP/1.1"),
              ServedBy::RequestLoop);
    EXPECT_EQ(servedBy("OPTIONS * HTTP/1.1"), ServedBy::RequestLoop);
}
