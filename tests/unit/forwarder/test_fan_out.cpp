// ExchangePool::exchangeAll: every request is sent at once and ends with its
// own answer or error, on the caller's thread, with no thread of its own; a
// silent peer ends at its own timeout without holding the others' answers;
// the keep-alive connections are kept for the next fleet-wide answer.
#include "forwarder/fan_out.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/common/scripted_server.hpp"

namespace imagebuild::forwarder {
namespace {

using imagebuild::testing::readRequest;
using imagebuild::testing::ScriptedServer;
using imagebuild::testing::send;
using imagebuild::testing::threadCount;
using namespace std::chrono_literals;

HttpLoopRequest requestTo(const ScriptedServer& server,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return imagebuild::testing::loopRequestTo(
        server, "GET /v1/hosts?scope=local HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        timeout);
}

std::string okWith(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

struct Outcome {
    bool ended = false;
    std::string body;
    std::string error;
    std::thread::id thread;
    std::size_t threads = 0;
};

std::vector<Outcome> exchange(std::vector<HttpLoopRequest> requests, ExchangePool* kept = nullptr) {
    ExchangePool fresh;
    auto& pool = kept ? *kept : fresh;
    std::vector<Outcome> outcomes(requests.size());
    pool.exchangeAll(std::move(requests),
                     [&outcomes](std::size_t i, HttpResponse* response, const HttpError* error) {
                         auto& outcome = outcomes.at(i);
                         EXPECT_FALSE(outcome.ended);
                         outcome.ended = true;
                         outcome.body = response ? response->body : "";
                         outcome.error = error ? error->what() : "";
                         outcome.thread = std::this_thread::get_id();
                         outcome.threads = threadCount();
                     });
    return outcomes;
}

// Five peers, each of which answers only once all five have been asked:
// asked one after the other, the first would wait in vain (and say so).
TEST(ExchangeAll, EveryRequestIsSentAtOnceOnTheCallersThread) {
    constexpr int kPeers = 5;
    std::mutex mutex;
    std::condition_variable allAsked;
    int asked = 0;
    std::vector<std::unique_ptr<ScriptedServer>> peers;
    for (int p = 0; p < kPeers; ++p) {
        peers.push_back(std::make_unique<ScriptedServer>([&, p](int fd) {
            readRequest(fd);
            std::unique_lock lock(mutex);
            ++asked;
            allAsked.notify_all();
            bool together = allAsked.wait_for(lock, 5s, [&] { return asked == kPeers; });
            send(fd, okWith((together ? "peer " : "alone ") + std::to_string(p)));
        }));
    }
    std::vector<HttpLoopRequest> requests;
    for (const auto& peer : peers) {
        requests.push_back(requestTo(*peer));
    }
    auto threads = threadCount();
    auto outcomes = exchange(std::move(requests));
    for (int p = 0; p < kPeers; ++p) {
        SCOPED_TRACE(p);
        EXPECT_TRUE(outcomes[p].ended);
        EXPECT_EQ(outcomes[p].body, "peer " + std::to_string(p)) << outcomes[p].error;
        EXPECT_EQ(outcomes[p].thread, std::this_thread::get_id());
        EXPECT_EQ(outcomes[p].threads, threads);  // none started for it
    }
}

TEST(ExchangeAll, ASilentPeerEndsAtItsTimeoutAndTheOthersAnswer) {
    ScriptedServer silent([](int fd) {
        readRequest(fd);
        char c;
        static_cast<void>(read(fd, &c, 1));  // until the client gives up
    });
    ScriptedServer answering([](int fd) {
        readRequest(fd);
        send(fd, okWith("here"));
    });
    std::vector<HttpLoopRequest> requests;
    requests.push_back(requestTo(silent, 200ms));
    requests.push_back(requestTo(answering));
    auto outcomes = exchange(std::move(requests));
    EXPECT_TRUE(outcomes[0].ended);
    EXPECT_NE(outcomes[0].error.find("200 ms"), std::string::npos) << outcomes[0].error;
    EXPECT_EQ(outcomes[1].body, "here");
}

TEST(ExchangeAll, APeerThatRefusesIsAnError) {
    HttpLoopRequest refused;
    {
        ScriptedServer gone([](int) {});
        refused = requestTo(gone);
    }  // its port is closed now
    auto outcomes = exchange({refused});
    EXPECT_TRUE(outcomes[0].ended);
    EXPECT_NE(outcomes[0].error.find("connecting"), std::string::npos) << outcomes[0].error;
}

// A peer that answers every request on its connection ("answer N").
ScriptedServer keptAlivePeer() {
    return ScriptedServer([](int fd) {
        for (int n = 1; !readRequest(fd).empty(); ++n) {
            auto body = "answer " + std::to_string(n);
            send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
        }
    });
}

HttpLoopRequest keptAliveRequestTo(const ScriptedServer& peer) {
    auto request = requestTo(peer);
    request.bytes = "GET /v1/hosts?scope=local HTTP/1.1\r\nHost: x\r\n\r\n";
    return request;
}

// Two fleet-wide answers, one after the other, on two threads: the second
// goes on the connection the first kept open (the peer accepts once).
TEST(ExchangeAll, TheNextAnswerFindsThePeersConnectionOpen) {
    auto peer = keptAlivePeer();
    auto keptAlive = keptAliveRequestTo(peer);
    ExchangePool pool;
    EXPECT_EQ(exchange({keptAlive}, &pool)[0].body, "answer 1");
    std::vector<Outcome> second;
    std::thread([&] { second = exchange({keptAlive}, &pool); }).join();
    EXPECT_EQ(second[0].body, "answer 2") << second[0].error;
    EXPECT_EQ(peer.accepted(), 1);
}

// Kept past keptFor (a peer closes what is idle longer), the engine and its
// connections are dropped: the next answer connects anew.
TEST(ExchangeAll, ConnectionsUnusedPastKeptForAreNotUsedAgain) {
    auto peer = keptAlivePeer();
    auto keptAlive = keptAliveRequestTo(peer);
    ExchangePool pool(std::chrono::milliseconds(100));
    EXPECT_EQ(exchange({keptAlive}, &pool)[0].body, "answer 1");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto second = exchange({keptAlive}, &pool);
    EXPECT_EQ(second[0].body, "answer 1") << second[0].error;  // a new connection's first
    EXPECT_EQ(peer.accepted(), 2);
}

// Past maxEngines, a fleet-wide answer waits for an engine (and so for its
// connections) to come free. This peer serves one connection at a time and
// answers after 100 ms: a second engine's connection would wait in vain.
TEST(ExchangeAll, AnswersPastMaxEnginesWaitForOne) {
    ScriptedServer peer([](int fd) {
        for (int n = 1; !readRequest(fd).empty(); ++n) {
            std::this_thread::sleep_for(100ms);  // the other thread asks meanwhile
            auto body = "answer " + std::to_string(n);
            send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
        }
    });
    auto keptAlive = keptAliveRequestTo(peer);
    keptAlive.timeout = 2s;
    ExchangePool pool(ExchangePool::kKeptFor, 1);
    std::vector<Outcome> first;
    std::vector<Outcome> second;
    std::thread other([&] { first = exchange({keptAlive}, &pool); });
    std::this_thread::sleep_for(20ms);
    second = exchange({keptAlive}, &pool);
    other.join();
    // Either may have taken the engine first: both answered, on one connection.
    std::set<std::string> bodies{first[0].body, second[0].body};
    EXPECT_EQ(bodies, (std::set<std::string>{"answer 1", "answer 2"}))
        << first[0].error << " / " << second[0].error;
    EXPECT_EQ(peer.accepted(), 1);
}

TEST(ExchangeAll, NoRequestsReturnsAtOnce) {
    EXPECT_TRUE(exchange({}).empty());
}

}  // namespace
}  // namespace imagebuild::forwarder
