// A streamed answer read by polling (http_polled_stream.hpp), against a
// scripted server: the body is handed out as it comes, with its chunked
// framing undone; its end is the framing's; a close before the end, and
// silence past a deadline, are failures that say so.
#include "common/http_polled_stream.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <thread>

#include "tests/unit/common/scripted_server.hpp"

namespace imagebuild {
namespace {

using testing::readRequest;
using testing::ScriptedServer;
using testing::send;
using namespace std::chrono_literals;

HttpLoopRequest requestTo(const ScriptedServer& server, std::chrono::milliseconds timeout = 5s) {
    return testing::loopRequestTo(server, "GET /log HTTP/1.1\r\nHost: x\r\n\r\n", timeout);
}

// Polls and steps until `until` says so, or the stream is over; what came.
template <typename Until>
std::string pollUntil(HttpPolledStream& stream, Until until) {
    std::string body;
    auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!stream.over() && !until(body) && std::chrono::steady_clock::now() < give_up) {
        pollfd p{stream.fd(), stream.events(), 0};
        ::poll(&p, 1, 100);
        stream.step(body, 1 << 20);
    }
    return body;
}

std::string all(HttpPolledStream& stream) {
    return pollUntil(stream, [](const std::string&) { return false; });
}

TEST(HttpPolledStream, HandsOutEachChunkAsItComes) {
    std::atomic<bool> second{false};
    ScriptedServer server([&second](int fd) {
        readRequest(fd);
        send(fd,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\nline 1\r\n");
        while (!second) {
            std::this_thread::sleep_for(10ms);
        }
        send(fd, "7\r\n\nline 2\r\n0\r\n\r\n");
    });
    HttpPolledStream stream(requestTo(server), kNoTimeout);
    auto first = pollUntil(stream, [](const std::string& body) { return !body.empty(); });
    EXPECT_EQ(first, "line 1");  // before the rest was even sent
    ASSERT_NE(stream.head(), nullptr);
    EXPECT_EQ(stream.head()->status, 200u);
    EXPECT_EQ(stream.head()->contentType, "text/plain");
    EXPECT_FALSE(stream.over());
    second = true;
    EXPECT_EQ(all(stream), "\nline 2");
    EXPECT_TRUE(stream.done());
    EXPECT_EQ(stream.error(), nullptr);
    EXPECT_EQ(stream.fd(), -1);
}

TEST(HttpPolledStream, EndsWithItsLengthOrWithTheConnection) {
    ScriptedServer withLength([](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
        char c;
        static_cast<void>(read(fd, &c, 1));  // kept open: the length ends it
    });
    HttpPolledStream a(requestTo(withLength), kNoTimeout);
    EXPECT_EQ(all(a), "nope");
    EXPECT_TRUE(a.done());
    EXPECT_EQ(a.head()->status, 404u);

    ScriptedServer untilClose([](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
    });
    HttpPolledStream b(requestTo(untilClose), kNoTimeout);
    EXPECT_EQ(all(b), "all of it");
    EXPECT_TRUE(b.done());
}

TEST(HttpPolledStream, AClosedConnectionBeforeTheLastChunkIsAFailure) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    });
    HttpPolledStream stream(requestTo(server), kNoTimeout);
    EXPECT_EQ(all(stream), "abc");
    ASSERT_NE(stream.error(), nullptr);
    EXPECT_FALSE(stream.done());
    EXPECT_STREQ(stream.error()->what(),
                 "reading the response: the peer closed the connection in the middle of the "
                 "answer");
}

TEST(HttpPolledStream, SilenceBeforeTheHeadAndBetweenPiecesTimesOut) {
    ScriptedServer silent([](int fd) {
        readRequest(fd);
        char c;
        static_cast<void>(read(fd, &c, 1));
    });
    HttpPolledStream head(requestTo(silent, 200ms), kNoTimeout);
    all(head);
    ASSERT_NE(head.error(), nullptr);
    EXPECT_TRUE(head.error()->timedOut());
    EXPECT_STREQ(head.error()->what(), "reading the response: nothing within 200 ms");

    ScriptedServer stalls([](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n");
        char c;
        static_cast<void>(read(fd, &c, 1));
    });
    HttpPolledStream idle(requestTo(stalls), 300ms);
    EXPECT_EQ(all(idle), "x");
    ASSERT_NE(idle.error(), nullptr);
    EXPECT_STREQ(idle.error()->what(), "reading the response: nothing within 300 ms");
}

}  // namespace
}  // namespace imagebuild
