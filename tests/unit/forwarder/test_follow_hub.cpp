// The follow hub relaying a peer's build (followPeer): the owner is a
// scripted server on loopback; the hub's own thread reads its stream
// (HttpPolledStream). Followers of one build in one format from its first
// line share one connection and get the owner's bytes as it sent them; a
// lost owner is said with an error naming it; an answer other than 200 is
// relayed whole; an owner that never answers is a failure, not a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "forwarder/follow_hub.hpp"
#include "tests/unit/common/scripted_server.hpp"

namespace imagebuild::forwarder {
namespace {

using imagebuild::testing::readRequest;
using imagebuild::testing::ScriptedServer;
using imagebuild::testing::send;

std::unique_ptr<sdbus::IConnection> noBus() {
    throw std::runtime_error("no bus: a peer's build is never asked about");
}

const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";
const std::string kTextHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

std::string chunk(const std::string& bytes) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    return size + bytes + "\r\n";
}

PeerFollow peerAt(const ScriptedServer& server, const std::string& shareKey,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    PeerFollow peer;
    peer.url = "http://127.0.0.1:" + server.url().port;
    peer.request = imagebuild::testing::loopRequestTo(
        server, "GET /monitor/beta-3?format=sse HTTP/1.1\r\nHost: beta\r\n\r\n", timeout);
    peer.shareKey = shareKey;
    return peer;
}

// Everything a follower reads until its end.
std::string readAll(const BodyStream& stream) {
    std::string out;
    char buffer[50];  // small: events go on across reads
    for (long n; (n = stream(buffer, sizeof buffer)) >= 0;) {
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

const std::string kEvents = "event: state\ndata: running\n\nid: s=1;i=1\ndata: line 1\n\n";
const std::string kEnd = "event: end\ndata: succeeded\n\n";

TEST(FollowPeer, FollowersOfABuildShareOneStreamFromItsOwner) {
    std::promise<std::string> asked;  // the first request, from the server's thread
    std::atomic<bool> firstRequest{true};
    ScriptedServer owner([&asked, &firstRequest](int fd) {
        auto request = readRequest(fd);
        if (firstRequest.exchange(false)) {
            asked.set_value(request);
        }
        // An event cut across two chunks, as a network may cut it.
        send(fd, kSseHead + chunk(kEvents.substr(0, 30)) + chunk(kEvents.substr(30)));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        send(fd, chunk(kEnd) + "0\r\n\r\n");
    });
    FollowHub hub(noBus, {});
    auto first =
        hub.followPeer("beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1);
    ASSERT_TRUE(first.head) << first.failure;
    EXPECT_EQ(first.head->status, 200u);
    EXPECT_EQ(first.head->contentType, "text/event-stream");
    auto second =
        hub.followPeer("beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1);
    ASSERT_TRUE(second.head);
    EXPECT_EQ(readAll(first.stream), kEvents + kEnd);
    EXPECT_EQ(readAll(second.stream), kEvents + kEnd);
    // A third comes after the end: the ring still holds the whole log.
    auto third =
        hub.followPeer("beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1);
    ASSERT_TRUE(third.head);
    EXPECT_EQ(readAll(third.stream), kEvents + kEnd);
    EXPECT_EQ(owner.accepted(), 1);
    auto request = asked.get_future().get();
    EXPECT_EQ(request.rfind("GET /monitor/beta-3?format=sse HTTP/1.1\r\n", 0), 0u) << request;
}

TEST(FollowPeer, AFollowerWithAResumePointHasAStreamOfItsOwn) {
    ScriptedServer owner([](int fd) {
        readRequest(fd);
        send(fd, kSseHead + chunk(kEvents + kEnd) + "0\r\n\r\n");
    });
    FollowHub hub(noBus, {});
    auto shared =
        hub.followPeer("beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1);
    auto own = hub.followPeer("beta-3", peerAt(owner, ""), MonitorFormat::EventStream, -1);
    ASSERT_TRUE(shared.head);
    ASSERT_TRUE(own.head);
    EXPECT_EQ(readAll(shared.stream), kEvents + kEnd);
    EXPECT_EQ(readAll(own.stream), kEvents + kEnd);
    EXPECT_EQ(owner.accepted(), 2);
}

TEST(FollowPeer, TextLinesCutAcrossChunksArriveWhole) {
    ScriptedServer owner([](int fd) {
        readRequest(fd);
        send(fd, kTextHead + chunk("line 1\nli"));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        send(fd, chunk("ne 2\n") + "0\r\n\r\n");
    });
    FollowHub hub(noBus, {});
    auto text = hub.followPeer("beta-3", peerAt(owner, "beta-3 text"), MonitorFormat::Text, -1);
    ASSERT_TRUE(text.head);
    EXPECT_EQ(readAll(text.stream), "line 1\nline 2\n");
}

TEST(FollowPeer, AnOwnerLostMidStreamIsSaidWithAnErrorNamingIt) {
    ScriptedServer owner([](int fd) {
        readRequest(fd);
        send(fd, kSseHead + chunk(kEvents));  // and gone, without the last chunk
    });
    FollowHub hub(noBus, {});
    auto peer = peerAt(owner, "beta-3 sse");
    auto url = peer.url;
    auto followed = hub.followPeer("beta-3", std::move(peer), MonitorFormat::EventStream, -1);
    ASSERT_TRUE(followed.head);
    auto got = readAll(followed.stream);
    ASSERT_EQ(got.rfind(kEvents, 0), 0u) << got;
    auto rest = got.substr(kEvents.size());
    EXPECT_NE(rest.find("event: error\ndata: {\"error\":\"PeerLost\",\"host\":\"" + url + "\""),
              std::string::npos)
        << rest;
    EXPECT_NE(rest.find("in the middle of the answer"), std::string::npos) << rest;
    // The next follower is not given the failed stream: it asks again.
    auto again =
        hub.followPeer("beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1);
    ASSERT_TRUE(again.head);
    readAll(again.stream);
    EXPECT_EQ(owner.accepted(), 2);
}

TEST(FollowPeer, AnAnswerOtherThan200IsRelayedWholeAndNotShared) {
    const std::string body = R"({"error":"NotFound","message":"no build beta-3"})";
    ScriptedServer owner([&body](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
    });
    FollowHub hub(noBus, {});
    for (int i = 0; i < 2; ++i) {
        auto followed =
            hub.followPeer("beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1);
        ASSERT_TRUE(followed.head);
        EXPECT_EQ(followed.head->status, 404u);
        EXPECT_EQ(followed.head->contentType, "application/json");
        EXPECT_EQ(followed.errorBody, body);
        EXPECT_FALSE(followed.stream);
    }
    EXPECT_EQ(owner.accepted(), 2);
}

TEST(FollowPeer, AnOwnerThatNeverAnswersIsAFailureWithinItsTimeout) {
    ScriptedServer owner([](int fd) {
        readRequest(fd);
        char c;
        static_cast<void>(read(fd, &c, 1));  // until the hub gives up and closes
    });
    FollowHub hub(noBus, {});
    auto start = std::chrono::steady_clock::now();
    auto followed =
        hub.followPeer("beta-3", peerAt(owner, "beta-3 sse", std::chrono::milliseconds(300)),
                       MonitorFormat::EventStream, -1);
    EXPECT_FALSE(followed.head);
    EXPECT_NE(followed.failure.find("nothing within 300 ms"), std::string::npos)
        << followed.failure;
    EXPECT_FALSE(followed.ours);  // the owner's failure: the route marks it down
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(FollowPeer, AnOwnerThatRefusesIsAFailure) {
    PeerFollow peer;
    {
        ScriptedServer gone([](int) {});
        peer = peerAt(gone, "beta-3 sse");
    }  // its port is closed now
    FollowHub hub(noBus, {});
    auto followed = hub.followPeer("beta-3", std::move(peer), MonitorFormat::EventStream, -1);
    EXPECT_FALSE(followed.head);
    EXPECT_NE(followed.failure.find("connecting"), std::string::npos) << followed.failure;
}

// followPeerLater holds its caller for nothing: the answer comes on the
// hub's thread when the owner's head does, to every follower that waited.
TEST(FollowPeer, LaterTheOwnersHeadIsGivenOnTheHubsThread) {
    std::promise<void> release;
    auto released = release.get_future().share();
    ScriptedServer owner([released](int fd) {
        readRequest(fd);
        released.wait();
        send(fd, kSseHead + chunk(kEvents + kEnd) + "0\r\n\r\n");
    });
    FollowHub hub(noBus, {});
    std::vector<std::promise<std::pair<PeerFollowed, std::thread::id>>> given(3);
    for (auto& promise : given) {
        auto start = std::chrono::steady_clock::now();
        hub.followPeerLater(
            "beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1, nullptr,
            [&promise](PeerFollowed followed) {
                promise.set_value({std::move(followed), std::this_thread::get_id()});
            });
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
    }
    auto first = given[0].get_future();
    EXPECT_EQ(first.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
    release.set_value();
    std::vector<std::pair<PeerFollowed, std::thread::id>> answers;
    answers.push_back(first.get());
    answers.push_back(given[1].get_future().get());
    answers.push_back(given[2].get_future().get());
    for (auto& [followed, thread] : answers) {
        ASSERT_TRUE(followed.head) << followed.failure;
        EXPECT_EQ(followed.head->status, 200u);
        EXPECT_NE(thread, std::this_thread::get_id());
        EXPECT_EQ(readAll(followed.stream), kEvents + kEnd);
    }
    EXPECT_EQ(owner.accepted(), 1);
    // Once the head is in, a follower is answered at once, on its own thread.
    auto answeredOn = std::make_shared<std::promise<std::thread::id>>();
    hub.followPeerLater("beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1,
                        nullptr, [answeredOn](PeerFollowed followed) {
                            EXPECT_TRUE(followed.head);
                            answeredOn->set_value(std::this_thread::get_id());
                        });
    auto on = answeredOn->get_future();
    ASSERT_EQ(on.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_EQ(on.get(), std::this_thread::get_id());
}

// A hub that stops answers every follower still waiting for a head.
TEST(FollowPeer, AStoppingHubAnswersItsWaitingFollowers) {
    ScriptedServer owner(imagebuild::testing::neverAnswers);
    std::promise<PeerFollowed> given;
    {
        FollowHub hub(noBus, {});
        hub.followPeerLater(
            "beta-3", peerAt(owner, "beta-3 sse"), MonitorFormat::EventStream, -1, nullptr,
            [&given](PeerFollowed followed) { given.set_value(std::move(followed)); });
    }
    auto answered = given.get_future();
    ASSERT_EQ(answered.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    auto followed = answered.get();
    EXPECT_FALSE(followed.head);
    EXPECT_NE(followed.failure.find("stopping"), std::string::npos) << followed.failure;
    EXPECT_TRUE(followed.ours);  // the owner did nothing wrong: not to be marked down
}

}  // namespace
}  // namespace imagebuild::forwarder
