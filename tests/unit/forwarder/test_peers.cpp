// Peers and its prober against real sockets on 127.0.0.1: a peer is unknown
// until probed, then up (with its hostname) or down (with the error); the
// fleet's answers wait for the first round; and probing a hundred peers at
// once takes one thread, not a hundred.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.hpp"
#include "forwarder/peers.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using namespace std::chrono_literals;

namespace {

// A listening socket on 127.0.0.1 and an ephemeral port.
struct Listener {
    UniqueFd fd{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    unsigned short port = 0;

    explicit Listener(bool listening = true) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof(addr);
        EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        EXPECT_EQ(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &size), 0);
        port = ntohs(addr.sin_port);
        if (listening) {
            EXPECT_EQ(listen(fd.get(), 256), 0);
        }
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// Answers every connection's first request with `response`, then closes it.
class FakePeer {
public:
    explicit FakePeer(std::string response)
        : response_(std::move(response)), thread_([this] { serve(); }) {}
    ~FakePeer() {
        stop_ = true;
        shutdown(listener_.fd.get(), SHUT_RDWR);  // wakes accept()
    }
    std::string url() const { return listener_.url(); }

private:
    void serve() {
        while (!stop_) {
            UniqueFd client(accept4(listener_.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!client) {
                return;
            }
            char buffer[4096];
            std::string request;
            while (request.find("\r\n\r\n") == std::string::npos) {
                auto n = read(client.get(), buffer, sizeof(buffer));
                if (n <= 0) {
                    break;
                }
                request.append(buffer, static_cast<std::size_t>(n));
            }
            (void)!write(client.get(), response_.data(), response_.size());
        }
    }

    Listener listener_;
    std::string response_;
    std::atomic<bool> stop_{false};
    std::jthread thread_;
};

std::string httpAnswer(const std::string& status, const std::string& body) {
    return "HTTP/1.1 " + status +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

PeerOptions options(std::chrono::milliseconds timeout = 10s) {
    PeerOptions o;
    o.healthInterval = 60s;  // one round in a test
    o.healthTimeout = timeout;
    o.firstProbeWait = 60s;  // the round ends long before: waits for the round, not the clock
    return o;
}

std::size_t threadCount() {
    auto tasks = std::filesystem::directory_iterator("/proc/self/task");
    return static_cast<std::size_t>(std::distance(begin(tasks), end(tasks)));
}

}  // namespace

TEST(ForwarderPeers, UnknownUntilProbed) {
    Listener closed(false);
    Peers peers({closed.url()}, options(), nullptr);
    auto states = peers.snapshot();  // not probing: does not wait
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].status, PeerStatus::Unknown);
    EXPECT_FALSE(states[0].healthy);
    EXPECT_EQ(statusName(states[0].status), "unknown");
}

TEST(ForwarderPeers, FirstAnswerWaitsForTheFirstProbe) {
    FakePeer peer(httpAnswer("200 OK", R"({"hostname":"b","status":"ok"})"));
    Peers peers({peer.url()}, options(), nullptr);
    peers.startHealthChecks();
    // Asked at once after the start: answered from a completed probe.
    auto owner = peers.byHostname("b");
    ASSERT_TRUE(owner.has_value());
    EXPECT_EQ(owner->status, PeerStatus::Up);
    EXPECT_TRUE(owner->healthy);
    EXPECT_EQ(owner->url, peer.url());
    EXPECT_EQ(owner->error, "");
    EXPECT_NE(owner->lastSeen, 0u);
}

TEST(ForwarderPeers, DownWithTheError) {
    Listener refused(false);  // bound, not listening: connections are refused
    FakePeer failing(httpAnswer("503 Service Unavailable", R"({"error":"x"})"));
    Peers peers({refused.url(), failing.url()}, options(), nullptr);
    peers.startHealthChecks();
    auto states = peers.snapshot();
    ASSERT_EQ(states.size(), 2u);
    for (const auto& state : states) {
        EXPECT_EQ(state.status, PeerStatus::Down) << state.url;
        EXPECT_FALSE(state.healthy);
        auto expected = state.url == refused.url() ? "connect: Connection refused"
                                                   : "GET /v1/health answered 503";
        EXPECT_NE(state.error.find(expected), std::string::npos) << state.error;
    }
}

// A peer that refuses one request too many from this host (429: its
// per-address connection cap, reached by relayed follows) is answering:
// up and busy, never down.
TEST(ForwarderPeers, APeerAnswering429IsUpAndBusy) {
    FakePeer busy(httpAnswer("429 Too Many Requests", R"({"error":"TooManyConnections"})"));
    Peers peers({busy.url()}, options(), nullptr);
    peers.startHealthChecks();
    auto states = peers.snapshot();
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].status, PeerStatus::Up);
    EXPECT_TRUE(states[0].healthy);
    EXPECT_TRUE(states[0].busy);
    EXPECT_NE(states[0].error.find("busy: GET /v1/health answered 429"), std::string::npos)
        << states[0].error;
    EXPECT_NE(states[0].lastSeen, 0u);
}

TEST(ForwarderPeers, SilentPeerIsDownAfterTheTimeout) {
    Listener silent;  // accepts (in the kernel's backlog) and never answers
    Peers peers({silent.url()}, options(200ms), nullptr);
    peers.startHealthChecks();
    auto states = peers.snapshot();
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].status, PeerStatus::Down);
    EXPECT_EQ(states[0].error, "no answer within 200 ms");
}

// A hundred peers that accept and never answer: all hundred probes are in
// flight at once (each accepted here), on the prober's thread and asio's
// resolver thread only.
TEST(ForwarderPeers, HundredPeersAreProbedFromOneThread) {
    std::vector<std::unique_ptr<Listener>> silent;
    std::vector<std::string> urls;
    for (int i = 0; i < 100; ++i) {
        silent.push_back(std::make_unique<Listener>());
        urls.push_back(silent.back()->url());
        timeval limit{30, 0};  // a broken prober fails the test instead of hanging it
        setsockopt(silent.back()->fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    }
    auto before = threadCount();
    Peers peers(urls, options(60s), nullptr);
    peers.startHealthChecks();
    std::vector<UniqueFd> accepted;
    for (auto& listener : silent) {
        accepted.emplace_back(accept4(listener->fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        ASSERT_TRUE(accepted.back()) << "no probe reached " << listener->url();
    }
    EXPECT_LE(threadCount(), before + 2);
}
