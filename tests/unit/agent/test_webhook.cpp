// agent/webhook.hpp: the retry schedule against a fake clock, and one real
// POST to a listening socket of this process.
#include "agent/webhook.hpp"
#include "agent/webhook_address.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/unique_fd.hpp"

using imagebuild::UniqueFd;
using imagebuild::agent::BuildRecord;
using imagebuild::agent::deliverWithRetries;
using imagebuild::agent::postJson;
using imagebuild::agent::retryable;
using imagebuild::agent::WebhookAttempt;
using imagebuild::agent::WebhookPolicy;
using imagebuild::agent::webhookUrlFor;
using std::chrono::milliseconds;

namespace {

// A socket listening on 127.0.0.1 at a free port; the port as text.
std::string listenOnLoopback(UniqueFd& listener, int extraFlags = 0) {
    listener = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | extraFlags, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener.get(), 1) != 0) {
        return {};
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return std::to_string(ntohs(addr.sin_port));
}

// A clock that only moves when the code under test sleeps or an attempt
// "takes" time.
struct FakeTime {
    std::chrono::steady_clock::time_point t{};
    std::vector<milliseconds> sleeps;
    std::vector<milliseconds> stepTimeouts;
};

imagebuild::agent::WebhookDelivery run(FakeTime& time, const WebhookPolicy& policy,
                                       std::vector<WebhookAttempt> answers, milliseconds cost) {
    std::size_t next = 0;
    return deliverWithRetries(
        policy,
        [&](milliseconds step) {
            time.stepTimeouts.push_back(step);
            time.t += cost;
            return answers.at(next++);
        },
        [&](milliseconds pause) {
            time.sleeps.push_back(pause);
            time.t += pause;
        },
        [&] { return time.t; });
}

}  // namespace

TEST(Webhook, DeliveredAtOnceMeansOneAttemptNoPause) {
    FakeTime time;
    auto d = run(time, {}, {{"", 204}}, milliseconds(10));
    EXPECT_TRUE(d.delivered);
    EXPECT_EQ(d.attempts, 1u);
    EXPECT_TRUE(time.sleeps.empty());
    EXPECT_EQ(time.stepTimeouts, (std::vector<milliseconds>{milliseconds(5000)}));
}

TEST(Webhook, RetriesThreeTimesOneThenThreeSecondsApart) {
    FakeTime time;
    auto d = run(time, {}, {{"connecting: refused", 0}, {"answered 503", 503}, {"", 200}},
                 milliseconds(10));
    EXPECT_TRUE(d.delivered);
    EXPECT_EQ(d.attempts, 3u);
    EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{milliseconds(1000), milliseconds(3000)}));
}

TEST(Webhook, GivesUpAfterTheLastAttemptWithTheLastError) {
    FakeTime time;
    auto d = run(time, {}, {{"a", 0}, {"b", 0}, {"connecting: refused", 0}}, milliseconds(10));
    EXPECT_FALSE(d.delivered);
    EXPECT_EQ(d.attempts, 3u);
    EXPECT_EQ(d.detail, "connecting: refused");
}

TEST(Webhook, AClientErrorIsNotRetried) {
    FakeTime time;
    auto d = run(time, {}, {{"the server answered 404 Not Found", 404}}, milliseconds(10));
    EXPECT_FALSE(d.delivered);
    EXPECT_EQ(d.attempts, 1u);
    EXPECT_TRUE(time.sleeps.empty());
    EXPECT_TRUE(retryable(0));
    EXPECT_TRUE(retryable(408));
    EXPECT_TRUE(retryable(429));
    EXPECT_TRUE(retryable(502));
    EXPECT_FALSE(retryable(400));
    EXPECT_FALSE(retryable(301));
}

TEST(Webhook, TheTotalBudgetBoundsAttemptsAndStepTimeouts) {
    FakeTime time;
    WebhookPolicy policy;
    policy.budget = milliseconds(12000);
    // Each attempt times out after its full 5 s: 5 + 1 + 5 = 11 s, and a
    // third attempt after a 3 s pause would end past 12 s.
    auto d = run(time, policy, {{"timeout", 0}, {"timeout", 0}, {"never", 0}}, milliseconds(5000));
    EXPECT_FALSE(d.delivered);
    EXPECT_EQ(d.attempts, 2u);
    EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{milliseconds(1000)}));
    // The second attempt had 6 s left: its steps keep 5 s.
    EXPECT_EQ(time.stepTimeouts[1], milliseconds(5000));
    policy.budget = milliseconds(7000);
    FakeTime short_;
    run(short_, policy, {{"timeout", 0}, {"", 200}}, milliseconds(5000));
    ASSERT_EQ(short_.stepTimeouts.size(), 2u);
    EXPECT_EQ(short_.stepTimeouts[1], milliseconds(1000));
}

TEST(Webhook, TheSpecsUrlWinsOverTheHosts) {
    BuildRecord r;
    imagebuild::Config c;
    EXPECT_EQ(webhookUrlFor(r, c), "");
    c.webhook.url = "http://host/default";
    EXPECT_EQ(webhookUrlFor(r, c), "http://host/default");
    r.spec.webhook = "http://ci/mine";
    EXPECT_EQ(webhookUrlFor(r, c), "http://ci/mine");
}

TEST(Webhook, PostsJsonToARealSocket) {
    UniqueFd listener;
    auto port = listenOnLoopback(listener);
    ASSERT_FALSE(port.empty());

    std::string request;
    std::thread server([&] {
        UniqueFd c(::accept(listener.get(), nullptr, nullptr));
        char buf[4096];
        // Read until the body (the JSON object) is complete.
        while (request.find('}') == std::string::npos) {
            auto n = ::read(c.get(), buf, sizeof buf);
            if (n <= 0) {
                break;
            }
            request.append(buf, static_cast<std::size_t>(n));
        }
        std::string answer = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
        (void)!::write(c.get(), answer.data(), answer.size());
    });
    auto url = imagebuild::parseHttpUrl("http://127.0.0.1:" + port + "/hook");
    ASSERT_TRUE(url);
    auto result = postJson(*url, R"({"id":"h-1","state":"queued"})", "queued", milliseconds(5000),
                           /*allowPrivate=*/true);
    server.join();
    EXPECT_EQ(result.error, "");
    EXPECT_EQ(result.status, 204u);
    EXPECT_EQ(request.rfind("POST /hook HTTP/1.1\r\n", 0), 0u) << request;
    EXPECT_NE(request.find("Content-Type: application/json\r\n"), std::string::npos) << request;
    EXPECT_NE(request.find("X-Imagebuild-Event: queued\r\n"), std::string::npos) << request;
    EXPECT_NE(request.find("\r\n\r\n{\"id\":\"h-1\",\"state\":\"queued\"}"), std::string::npos);
}

TEST(Webhook, AnUnreachableServerIsAnErrorNotAnException) {
    // Port 1 on loopback: nobody listens there in a test environment.
    auto url = imagebuild::parseHttpUrl("http://127.0.0.1:1/hook");
    auto result = postJson(*url, "{}", "queued", milliseconds(2000), /*allowPrivate=*/true);
    EXPECT_EQ(result.status, 0u);
    EXPECT_EQ(result.error.rfind("connecting: ", 0), 0u) << result.error;
}

// A listening loopback server that must never hear from the webhook.
TEST(Webhook, AnInternalAddressIsRefusedWithoutAConnection) {
    UniqueFd listener;
    auto port = listenOnLoopback(listener, SOCK_NONBLOCK);
    ASSERT_FALSE(port.empty());
    // By name too: what counts is the address it resolves to.
    for (const auto* host : {"127.0.0.1", "localhost"}) {
        auto url = imagebuild::parseHttpUrl(std::string("http://") + host + ":" + port + "/hook");
        ASSERT_TRUE(url);
        auto result = postJson(*url, "{}", "queued", milliseconds(2000), false);
        EXPECT_TRUE(result.refused) << host;
        EXPECT_NE(result.error.find("is a loopback address"), std::string::npos) << result.error;
        EXPECT_NE(result.error.find("allow_private = yes"), std::string::npos) << result.error;
    }
    EXPECT_LT(::accept(listener.get(), nullptr, nullptr), 0);  // nobody connected
}

TEST(Webhook, ARefusedAddressIsNotRetried) {
    FakeTime time;
    WebhookPolicy policy;
    auto d = deliverWithRetries(
        policy,
        [&](milliseconds) {
            return WebhookAttempt{"not sent: internal", 0, true};
        },
        [&](milliseconds pause) { time.sleeps.push_back(pause); }, [&] { return time.t; });
    EXPECT_FALSE(d.delivered);
    EXPECT_EQ(d.attempts, 1u);
    EXPECT_TRUE(time.sleeps.empty());
}

TEST(Webhook, InternalAddressKinds) {
    using boost::asio::ip::make_address;
    using imagebuild::agent::internalAddressKind;
    for (const auto* a : {"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"}) {
        EXPECT_EQ(internalAddressKind(make_address(a)), "loopback") << a;
    }
    for (const auto* a : {"169.254.169.254", "fe80::1"}) {
        EXPECT_EQ(internalAddressKind(make_address(a)), "link-local") << a;
    }
    for (const auto* a : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1"}) {
        EXPECT_EQ(internalAddressKind(make_address(a)), "private") << a;
    }
    EXPECT_EQ(internalAddressKind(make_address("fd00::1")), "private (unique local)");
    EXPECT_EQ(internalAddressKind(make_address("0.0.0.0")), "unspecified");
    EXPECT_EQ(internalAddressKind(make_address("::")), "unspecified");
    EXPECT_EQ(internalAddressKind(make_address("224.0.0.1")), "multicast");
    EXPECT_EQ(internalAddressKind(make_address("255.255.255.255")), "reserved");
    EXPECT_EQ(internalAddressKind(make_address("100.64.0.1")), "shared (carrier NAT)");
    for (const auto* a : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "2001:db8::1", "1.1.1.1"}) {
        EXPECT_EQ(internalAddressKind(make_address(a)), "") << a;
    }
}
