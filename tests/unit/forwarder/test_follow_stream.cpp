// One follower of the hub's ring on the stream loop, without a bus or a
// journal: the ring is filled by hand as the hub's publish() would. It
// parks (once, into the build's waiting list) when it has sent everything,
// goes on from its position when unparked, looks at its client when woken
// with nothing new, and ends with the true end or a cut.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "forwarder/follow_build.hpp"
#include "forwarder/follow_stream.hpp"
#include "forwarder/sse.hpp"

namespace imagebuild::forwarder {
namespace {

struct CountingParking : StreamParking {
    int parks = 0;
    int unparks = 0;
    void park() override { ++parks; }
    void unpark() override { ++unparks; }
};

struct Fixture {
    Fixture()
        : hub([]() -> std::unique_ptr<sdbus::IConnection> { throw std::runtime_error("no bus"); },
              {}) {
        build->followers = 1;  // as the hub's join() counts it
        info.id = "alpha-1";
        info.state = "running";
    }
    FollowStream follower(MonitorFormat format, int clientFd = -1) {
        return FollowStream(hub, build, info, format, "", clientFd, parking);
    }
    // What the hub's publish() does with lines: the ring, then the parked
    // followers unparked.
    void publish(int from, int to) {
        for (int i = from; i <= to; ++i) {
            RingLine line;
            line.seqnum = static_cast<std::uint64_t>(i);
            line.cursor = "s=1;i=" + std::to_string(i);
            line.text = "line " + std::to_string(i);
            line.sse = sseLogLine(line.text, line.cursor);
            build->ring.push_back(std::move(line));
        }
        unparkWaiting();
    }
    void end(const std::string& state) {
        build->ended = true;
        build->endState = state;
        unparkWaiting();
    }
    void unparkWaiting() {
        auto waiting = std::move(build->waiting);
        build->waiting.clear();
        for (auto& p : waiting) {
            p->unpark();
        }
    }

    FollowHub hub;
    std::shared_ptr<FollowHub::Followed> build = std::make_shared<FollowHub::Followed>("alpha-1");
    BuildInfo info;
    std::shared_ptr<CountingParking> parking = std::make_shared<CountingParking>();
};

// Everything the follower gives until it returns 0 (parked) or -1 (ended);
// `ended` says which.
std::string drain(FollowStream& f, bool* ended = nullptr) {
    std::string out;
    char buffer[64];  // small: a line goes on across reads
    for (;;) {
        long n = f.read(buffer, sizeof buffer);
        if (n <= 0) {
            if (ended) {
                *ended = n < 0;
            }
            return out;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

TEST(FollowStreamOnTheLoop, ParksWhenItHasSentEverythingAndGoesOnWhenUnparked) {
    Fixture x;
    x.publish(1, 2);
    auto f = x.follower(MonitorFormat::Text);
    bool ended = true;
    EXPECT_EQ(drain(f, &ended), "line 1\nline 2\n");
    EXPECT_FALSE(ended);
    EXPECT_EQ(x.parking->parks, 1);
    ASSERT_EQ(x.build->waiting.size(), 1u);  // where the hub finds it

    x.publish(3, 4);
    EXPECT_EQ(x.parking->unparks, 1);
    EXPECT_EQ(drain(f, &ended), "line 3\nline 4\n");
    EXPECT_FALSE(ended);
    EXPECT_EQ(x.parking->parks, 2);

    x.end("failed");
    EXPECT_EQ(drain(f, &ended), "");  // text: the lines said it all
    EXPECT_TRUE(ended);
    EXPECT_EQ(x.parking->parks, 2);
    EXPECT_TRUE(x.build->waiting.empty());
}

TEST(FollowStreamOnTheLoop, SseSaysTheStateFirstAndTheTrueEndLast) {
    Fixture x;
    auto f = x.follower(MonitorFormat::EventStream);
    auto first = drain(f);
    EXPECT_NE(first.find("event: state\ndata: running\n"), std::string::npos) << first;
    x.publish(1, 1);
    auto line = drain(f);
    EXPECT_NE(line.find("data: line 1\n"), std::string::npos) << line;
    EXPECT_NE(line.find("id: s=1;i=1\n"), std::string::npos) << line;
    x.end("failed");
    bool ended = false;
    EXPECT_EQ(drain(f, &ended), "event: end\ndata: failed\n\n");
    EXPECT_TRUE(ended);
}

// Woken with nothing new (the hub's look every few seconds): a follower
// whose client is still there parks again; one whose client left ends.
TEST(FollowStreamOnTheLoop, WokenWithNothingNewItLooksAtItsClient) {
    Fixture x;
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd ours(pair[0]);
    UniqueFd client(pair[1]);
    auto f = x.follower(MonitorFormat::Text, ours.get());
    drain(f);
    EXPECT_EQ(x.parking->parks, 1);

    x.unparkWaiting();
    bool ended = true;
    EXPECT_EQ(drain(f, &ended), "");
    EXPECT_FALSE(ended);
    EXPECT_EQ(x.parking->parks, 2);  // still there: parked again

    client.reset();
    x.unparkWaiting();
    EXPECT_EQ(drain(f, &ended), "");
    EXPECT_TRUE(ended);
    EXPECT_EQ(x.parking->parks, 2);
}

TEST(FollowStreamOnTheLoop, AFollowerTheRingLeftBehindIsCut) {
    Fixture x;
    auto f = x.follower(MonitorFormat::EventStream);
    drain(f);
    x.publish(1, 4);
    x.build->ring.pop_front();  // dropped before this follower read it
    ++x.build->base;
    bool ended = false;
    auto out = drain(f, &ended);
    EXPECT_NE(out.find("event: error\ndata: {\"error\":\"SlowFollower\""), std::string::npos)
        << out;
    EXPECT_EQ(out.find("line 2"), std::string::npos) << out;
    EXPECT_TRUE(ended);
}

}  // namespace
}  // namespace imagebuild::forwarder
