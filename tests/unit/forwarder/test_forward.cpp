// forward.hpp: which requests about a build the gate's loop relays itself
// (relayOnLoop) and what it sends, against a peer probed on a loopback
// socket; and what a peer's answer, or its failure, becomes (peerAnswer).
#include "forwarder/forward.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/http_message.hpp"
#include "common/sha256.hpp"
#include "forwarder/app.hpp"
#include "forwarder/peers.hpp"
#include "tests/unit/common/scripted_server.hpp"
#include "tests/unit/forwarder/http_testing.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using namespace std::chrono_literals;
using imagebuild::testing::ScriptedServer;

namespace {

// A peer named "b"'s health answer.
void answerHealth(int fd) {
    std::string body = R"({"hostname":"b","status":"ok"})";
    imagebuild::testing::send(fd,
                              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                  body);
}

// A peer named "b": its health answer, on a connection each.
ScriptedServer healthyPeer() {
    return ScriptedServer([](int fd) {
        imagebuild::testing::readRequest(fd);
        answerHealth(fd);
    });
}

struct Fleet {
    explicit Fleet(const std::string& peerUrl, bool probe = true,
                   const std::string& config = "[forwarder]\n", TokenStore tokens = {})
        : app(parseConfig(config, "x"), std::move(tokens), "a") {
        PeerOptions options;
        options.fleetToken = "fleet-secret";
        options.healthInterval = 60s;
        options.firstProbeWait = 60s;
        options.requestTimeout = 7s;
        auto peers = std::make_unique<Peers>(std::vector<std::string>{peerUrl}, options, nullptr);
        if (probe) {
            peers->startHealthChecks();
            peers->snapshot();  // the first round has ended
        }
        app.setPeers(std::move(peers));
    }
    OnLoop onLoop(Request request, const std::string& id = "b-7") {
        return relayOnLoop(app, std::make_shared<Request>(std::move(request)), id);
    }
    std::optional<LoopRelay> relay(Request request) {
        auto outcome = onLoop(std::move(request));
        EXPECT_FALSE(outcome.response.has_value()) << outcome.response->body;
        return std::move(outcome.relay);
    }
    App app;
};

}  // namespace

TEST(ForwarderRelayOnLoop, APeersBuildGoesToWhereItAnsweredWithForwardTosBytes) {
    auto peer = healthyPeer();
    // By name: the loop connects to the address the probe's lookup found.
    Fleet fleet("http://localhost:" + peer.url().port);
    auto request = imagebuild::testing::get("/v1/builds/b-7", {{"x", "1 2"}});
    request.method = "HEAD";
    request.headers["if-none-match"] = "\"e\"";
    auto relay = fleet.relay(request);
    ASSERT_TRUE(relay.has_value());
    const auto* address = reinterpret_cast<const sockaddr_in*>(&relay->request.address);
    EXPECT_EQ(address->sin_family, AF_INET);
    EXPECT_EQ(ntohl(address->sin_addr.s_addr), INADDR_LOOPBACK);
    EXPECT_EQ(ntohs(address->sin_port), std::stoi(peer.url().port));
    EXPECT_EQ(relay->request.length, sizeof(sockaddr_in));
    EXPECT_TRUE(relay->request.headOnly);
    EXPECT_EQ(relay->request.timeout, 7s);
    const auto& bytes = relay->request.bytes;
    EXPECT_EQ(bytes.rfind("HEAD /v1/builds/b-7?x=1%202 HTTP/1.1\r\n", 0), 0u) << bytes;
    EXPECT_NE(bytes.find("\r\nX-Imagebuild-Forwarded: 1\r\n"), std::string::npos) << bytes;
    EXPECT_NE(bytes.find("\r\nAuthorization: Bearer fleet-secret\r\n"), std::string::npos) << bytes;
    EXPECT_NE(bytes.find("\r\nif-none-match: \"e\"\r\n"), std::string::npos) << bytes;
    EXPECT_EQ(bytes.find("Connection: close"), std::string::npos) << bytes;
}

TEST(ForwarderRelayOnLoop, AUsersOwnTokenReplacesTheFleetToken) {
    auto peer = healthyPeer();
    Fleet fleet(peer.url().hostHeader().insert(0, "http://"));
    auto request = imagebuild::testing::get("/v1/builds/b-7");
    request.headers["authorization"] = "Bearer mine";
    auto relay = fleet.relay(request);
    ASSERT_TRUE(relay.has_value());
    EXPECT_NE(relay->request.bytes.find("Bearer mine"), std::string::npos);
    EXPECT_EQ(relay->request.bytes.find("fleet-secret"), std::string::npos);
}

// Written straight into one string, the bytes are HttpClient's: the same
// fields, in the same order, the user's token in place of the fleet's.
TEST(ForwarderRelayOnLoop, TheRelaysBytesAreThoseHttpClientWouldSend) {
    auto peer = healthyPeer();
    std::string url = "http://" + peer.url().hostHeader();
    Fleet fleet(url);
    const auto& client = fleet.app.peers().client(url);
    auto plain = imagebuild::testing::get("/v1/builds/b-7");
    auto asking = imagebuild::testing::get("/v1/builds/b-7/log", {{"follow", "1"}, {"q", "a b&c"}});
    asking.headers["accept"] = "text/event-stream";
    asking.headers["last-event-id"] = "s=1;i=2";
    asking.headers["range"] = "bytes=0-9";
    asking.headers["if-none-match"] = "\"e\"";
    asking.headers["user-agent"] = "curl/8";  // not passed on
    auto mine = asking;
    mine.method = "HEAD";
    mine.headers["authorization"] = "Bearer mine";
    for (const auto& request : {plain, asking, mine}) {
        EXPECT_EQ(relayRequestBytes(request, client.url(), client.options()),
                  httpRequestBytes(peerRequestFor(request), client.url(), client.options(), true));
    }
    auto relay = fleet.relay(mine);
    ASSERT_TRUE(relay.has_value());
    EXPECT_EQ(relay->request.bytes, relayRequestBytes(mine, client.url(), client.options()));
}

// A thread's: this host's build (the agent answers, over D-Bus), or a
// request that came from a peer (served here, never passed on again).
TEST(ForwarderRelayOnLoop, ALocalBuildIsAThreads) {
    auto peer = healthyPeer();
    Fleet fleet("http://" + peer.url().hostHeader());
    auto forwarded = imagebuild::testing::get("/v1/builds/b-7");
    forwarded.headers["x-imagebuild-forwarded"] = "1";
    auto outcome = fleet.onLoop(forwarded);
    EXPECT_FALSE(outcome.response || outcome.relay);
    outcome = fleet.onLoop(imagebuild::testing::get("/v1/builds/a-7"), "a-7");
    EXPECT_FALSE(outcome.response || outcome.relay);
}

// What forBuild answers without asking anyone is answered on the loop too:
// a host not in the fleet, not a build id; and once a relay failed (502,
// the peer marked down at once), the owner down (503).
TEST(ForwarderRelayOnLoop, TheOwnersErrorsAreAnsweredOnTheLoop) {
    auto peer = healthyPeer();
    Fleet fleet("http://" + peer.url().hostHeader());
    auto unknown = fleet.onLoop(imagebuild::testing::get("/v1/builds/c-7"), "c-7");
    ASSERT_TRUE(unknown.response.has_value());
    imagebuild::testing::expectError(*unknown.response, 404, "NotFound");
    auto nonsense = fleet.onLoop(imagebuild::testing::get("/v1/builds/nonsense"), "nonsense");
    ASSERT_TRUE(nonsense.response.has_value());
    imagebuild::testing::expectError(*nonsense.response, 404, "NotFound");
    auto relay = fleet.relay(imagebuild::testing::get("/v1/builds/b-7"));
    ASSERT_TRUE(relay.has_value());
    HttpError refused(HttpStep::Connect, "connecting", "Connection refused", false);
    auto answer = relay->finish(nullptr, &refused);
    imagebuild::testing::expectError(answer, 502, "PeerUnreachable");
    EXPECT_NE(answer.body.find("connecting: Connection refused"), std::string::npos);
    auto down = fleet.onLoop(imagebuild::testing::get("/v1/builds/b-7"));
    ASSERT_TRUE(down.response.has_value());
    imagebuild::testing::expectError(*down.response, 503, "HostDown");
    EXPECT_FALSE(down.relay.has_value());
}

// A relay that found every connection of ours to the peer in use (a cap of
// ours, busy()) learnt nothing of the peer: answered 502, the peer not
// marked down, so the next request is relayed again.
TEST(ForwarderRelayOnLoop, OurConnectionsBusyDoNotMarkThePeerDown) {
    auto peer = healthyPeer();
    Fleet fleet("http://" + peer.url().hostHeader());
    auto relay = fleet.relay(imagebuild::testing::get("/v1/builds/b-7"));
    ASSERT_TRUE(relay.has_value());
    HttpError busy(HttpStep::Connect, "connecting", "all 32 connections were busy", true, false,
                   /*busy=*/true);
    imagebuild::testing::expectError(relay->finish(nullptr, &busy), 502, "PeerUnreachable");
    auto again = fleet.onLoop(imagebuild::testing::get("/v1/builds/b-7"));
    EXPECT_FALSE(again.response.has_value()) << again.response->body;  // not 503 HostDown
    EXPECT_TRUE(again.relay.has_value());
}

// Before the first round of probes ends, finding the owner would wait for
// it (60 s here: meson's timeout would fail the test): the loop never
// waits, a thread does.
TEST(ForwarderRelayOnLoop, NotBeforeTheFirstProbeEnded) {
    ScriptedServer silent(imagebuild::testing::neverAnswers);  // until the prober closes
    Fleet fleet("http://" + silent.url().hostHeader(), /*probe=*/false);
    fleet.app.peers().startHealthChecks();
    EXPECT_FALSE(fleet.app.peers().settled());
    auto outcome = fleet.onLoop(imagebuild::testing::get("/v1/builds/b-7"));
    EXPECT_FALSE(outcome.response || outcome.relay);
}

TEST(ForwarderRelayOnLoop, ThePeersAnswerKeepsItsStatusBodyAndCacheFields) {
    auto peer = healthyPeer();
    Fleet fleet("http://" + peer.url().hostHeader());
    auto relay = fleet.relay(imagebuild::testing::get("/v1/builds/b-7"));
    ASSERT_TRUE(relay.has_value());
    HttpResponse answer;
    answer.status = 404;
    answer.contentType = "application/json";
    answer.body = R"({"error":"NotFound"})";
    answer.headers = {{"ETag", "\"1\""}, {"Server", "x"}, {"Cache-Control", "no-cache"}};
    auto response = relay->finish(&answer, nullptr);
    EXPECT_EQ(response.status, 404u);
    EXPECT_EQ(response.body, R"({"error":"NotFound"})");  // moved out of the answer
    EXPECT_TRUE(response.fromPeer);
    EXPECT_EQ(imagebuild::testing::headerOf(response, "ETag"), "\"1\"");
    EXPECT_EQ(imagebuild::testing::headerOf(response, "Cache-Control"), "no-cache");
    EXPECT_EQ(imagebuild::testing::headerOf(response, "Server"), "");
}

// App::answerOnLoop: whose request it is decides first; the token of what
// the loop takes (a relay, an agent ask, an owner's error) is checked
// there, before anything is sent; what a thread serves is checked there.
TEST(ForwarderRelayOnLoop, TheLoopChecksTheTokenOfWhatItTakes) {
    auto peer = healthyPeer();
    Fleet fleet("http://" + peer.url().hostHeader(), true, "[forwarder]\nread_open = false\n",
                TokenStore::parse("alice " + sha256Hex("alice-secret") + "\n", "tokens"));
    registerRoutes(fleet.app);
    auto ask = [&fleet](const std::string& id, const std::string& token) {
        Request r = imagebuild::testing::get("/v1/builds/" + id);
        if (!token.empty()) {
            r.headers["authorization"] = "Bearer " + token;
        }
        return fleet.app.answerOnLoop(r);
    };
    for (const auto& [id, token] : {std::pair{"b-7", ""}, {"b-7", "wrong"}, {"c-7", "wrong"}}) {
        auto refused = ask(id, token);
        ASSERT_TRUE(refused.response.has_value()) << id << " " << token;
        imagebuild::testing::expectError(*refused.response, 401, "Unauthorized");
        EXPECT_FALSE(refused.relay.has_value());
    }
    EXPECT_TRUE(ask("b-7", "alice-secret").relay.has_value());
    // A build of this host: GET /v1/builds/{id} asks the agent from the
    // loop too, after the same check.
    auto localRefused = ask("a-7", "");
    ASSERT_TRUE(localRefused.response.has_value());
    imagebuild::testing::expectError(*localRefused.response, 401, "Unauthorized");
    auto local = ask("a-7", "alice-secret");
    ASSERT_TRUE(local.relay.has_value());
    EXPECT_TRUE(static_cast<bool>(local.relay->ask));
    EXPECT_FALSE(local.response.has_value());
    // A route without an agent ask on the loop leaves a local build to a thread.
    Request kickstart = imagebuild::testing::get("/v1/builds/a-7/kickstart");
    kickstart.headers["authorization"] = "Bearer alice-secret";
    auto threads = fleet.app.answerOnLoop(kickstart);
    EXPECT_FALSE(threads.response || threads.relay);
}

// A peer's download of a known length that breaks off is cut short for the
// client too (kStreamBroken: the connection ends without a complete
// answer), never ended as if whole.
TEST(ForwarderForwardStream, ADownloadCutShortEndsBrokenNotComplete) {
    ScriptedServer peer([](int fd) {
        auto request = imagebuild::testing::readRequest(fd);
        if (request.find("/v1/health") != std::string::npos) {
            answerHealth(fd);
            return;
        }
        imagebuild::testing::send(fd,
                                  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                  "Content-Length: 100\r\n\r\n0123456789");
    });  // and the connection ends: 90 bytes never come
    Fleet fleet("http://localhost:" + peer.url().port);
    Request request;
    request.method = "GET";
    request.path = "/artifacts/b-7/boot.iso";
    auto response = forwardStreamTo(fleet.app, "http://localhost:" + peer.url().port, request, 5s);
    ASSERT_EQ(response.status, 200u);
    ASSERT_TRUE(response.stream);
    EXPECT_EQ(response.streamSize, 100u);
    std::string body;
    char buffer[64];
    long n = 0;
    while ((n = response.stream(buffer, sizeof buffer)) > 0) {
        body.append(buffer, static_cast<std::size_t>(n));
    }
    EXPECT_EQ(body, "0123456789");
    EXPECT_EQ(n, kStreamBroken);
}
