// The bridge that carries a request the gate has read already to
// libmicrohttpd: bytes taken first, both directions through bounded buffers,
// the answer passed on whole before the end, and a stop that cuts it.
// Socket pairs stand for the client and libmicrohttpd's end.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"
#include "forwarder/connection_bridge.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;

namespace {

constexpr std::chrono::milliseconds kIdle{10000};

// Two connected non-blocking stream sockets: [0] is ours, [1] the relay's.
struct Pair {
    Pair() {
        int fds[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        ours = UniqueFd(fds[0]);
        theirs = UniqueFd(fds[1]);
    }
    UniqueFd ours;
    UniqueFd theirs;
};

void sendAll(int fd, std::string_view text) {
    while (!text.empty()) {
        pollfd p{fd, POLLOUT, 0};
        ASSERT_EQ(poll(&p, 1, 10000), 1);
        auto n = send(fd, text.data(), text.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0);
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Reads `count` bytes (or until the end, if count is 0); "" and a failure
// if nothing comes within 10 s.
std::string readBytes(int fd, std::size_t count = 0) {
    std::string out;
    char buffer[8192];
    while (count == 0 || out.size() < count) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 10000) != 1) {
            ADD_FAILURE() << "nothing came; have " << out.size() << " bytes";
            break;
        }
        auto want = count == 0 ? sizeof buffer : std::min(sizeof buffer, count - out.size());
        auto n = recv(fd, buffer, want, 0);
        if (n <= 0) {
            break;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

TEST(ForwarderConnectionBridge, TakenBytesGoFirstAndTheAnswerComesBackWhole) {
    Pair client, inner;
    UniqueFd stop(eventfd(0, EFD_CLOEXEC));
    std::thread relay([&] {
        relayBothWays(client.theirs.get(), inner.theirs.get(), "GET /a", stop.get(), kIdle);
    });
    sendAll(client.ours.get(), " HTTP/1.1\r\n\r\n");
    EXPECT_EQ(readBytes(inner.ours.get(), 19), "GET /a HTTP/1.1\r\n\r\n");
    // An answer larger than the relay's buffers, to a client that reads it
    // only after it has all been sent: it waits in the buffers, bounded.
    std::string big(1 << 21, 'x');
    big.back() = 'z';
    std::thread answering([&] {
        sendAll(inner.ours.get(), big);
        inner.ours.reset();  // the answer ends: libmicrohttpd closed
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(readBytes(client.ours.get()), big);  // then the end
    answering.join();
    relay.join();
}

TEST(ForwarderConnectionBridge, AStopCutsARelayThatWaits) {
    Pair client, inner;
    UniqueFd stop(eventfd(0, EFD_CLOEXEC));
    std::thread relay(
        [&] { relayBothWays(client.theirs.get(), inner.theirs.get(), "", stop.get(), kIdle); });
    std::uint64_t one = 1;
    ASSERT_EQ(write(stop.get(), &one, sizeof one), 8);
    relay.join();  // returns: nothing else would end it
}

TEST(ForwarderConnectionBridge, AClientThatLeavesEndsTheRelay) {
    Pair client, inner;
    UniqueFd stop(eventfd(0, EFD_CLOEXEC));
    std::thread relay(
        [&] { relayBothWays(client.theirs.get(), inner.theirs.get(), "GET", stop.get(), kIdle); });
    EXPECT_EQ(readBytes(inner.ours.get(), 3), "GET");
    client.ours.reset();
    // libmicrohttpd reads the end, and answers nothing; its close ends the relay.
    EXPECT_EQ(readBytes(inner.ours.get()), "");
    inner.ours.reset();
    relay.join();
}

TEST(ForwarderConnectionBridges, OpenGivesTheInnerEndAndStopClosesTheClient) {
    ConnectionBridges bridges(kIdle);
    Pair client;
    auto inner = bridges.open(client.theirs.release(), "taken");
    ASSERT_TRUE(inner);
    EXPECT_EQ(readBytes(inner.get(), 5), "taken");
    bridges.stop();
    EXPECT_EQ(readBytes(client.ours.get()), "");  // closed by the relay
    // Stopped: no more bridges; the client handed in is closed all the same.
    Pair late;
    EXPECT_FALSE(bridges.open(late.theirs.release(), "x"));
    EXPECT_EQ(readBytes(late.ours.get()), "");
}

TEST(ForwarderConnectionBridge, NothingMovingForTheIdleTimeoutEndsTheRelay) {
    Pair client, inner;
    UniqueFd stop(eventfd(0, EFD_CLOEXEC));
    // An answer the client never reads: it fills the buffers, then nothing moves.
    std::thread relay([&] {
        relayBothWays(client.theirs.get(), inner.theirs.get(), "", stop.get(),
                      std::chrono::milliseconds(300));
    });
    // Sent until no room has come for 100 ms: the relay's buffer and the
    // client's socket are full, and the relay waits to write.
    std::string block(64 * 1024, 'x');
    for (pollfd p{inner.ours.get(), POLLOUT, 0}; poll(&p, 1, 100) == 1;) {
        if (send(inner.ours.get(), block.data(), block.size(), MSG_NOSIGNAL | MSG_DONTWAIT) <= 0 &&
            errno != EAGAIN) {
            break;
        }
    }
    relay.join();  // returns: the stop was never written
}

// Quiet both ways (a text follower of a silent build): not cut, however long.
TEST(ForwarderConnectionBridge, AQuietRelayOutlivesTheIdleTimeout) {
    Pair client, inner;
    UniqueFd stop(eventfd(0, EFD_CLOEXEC));
    std::thread relay([&] {
        relayBothWays(client.theirs.get(), inner.theirs.get(), "", stop.get(),
                      std::chrono::milliseconds(100));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    sendAll(inner.ours.get(), "line\n");
    EXPECT_EQ(readBytes(client.ours.get(), 5), "line\n");
    inner.ours.reset();
    EXPECT_EQ(readBytes(client.ours.get()), "");
    relay.join();
}
