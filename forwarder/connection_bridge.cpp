#include "forwarder/connection_bridge.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace imagebuild::forwarder {

namespace {

// Per direction: an upload goes on while libmicrohttpd reads it, an answer
// while the client reads it; neither is held here whole. Large enough that
// an artifact crosses in few system calls (the bridge loses sendfile).
constexpr std::size_t kBufferBytes = 256 * 1024;

// One direction of the relay: bytes read from `from`, not yet written to
// `to`, in buffer[begin, end); or, for the answer, in a pipe between the two
// (splice: the bytes never enter this process, as sendfile's did not).
struct Direction {
    Direction(int from, int to, std::string taken)
        : from(from), to(to), buffer(std::max(kBufferBytes, taken.size())), end(taken.size()) {
        std::copy(taken.begin(), taken.end(), buffer.begin());
    }
    // Spliced through a pipe of kBufferBytes if the kernel lets us make
    // one that large (fs.pipe-max-size, fs.pipe-user-pages-soft), else
    // copied as above.
    Direction(int from, int to) : from(from), to(to) {
        int fds[2];
        if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
            pipeOut = UniqueFd(fds[0]);
            pipeIn = UniqueFd(fds[1]);
            int size = fcntl(pipeIn.get(), F_SETPIPE_SZ, static_cast<int>(kBufferBytes));
            pipeBytes = size > 0 ? static_cast<std::size_t>(size) : 0;
        }
        if (pipeBytes == 0) {
            pipeOut = UniqueFd();
            pipeIn = UniqueFd();
            buffer.resize(kBufferBytes);
        }
    }

    int from;
    int to;
    std::vector<char> buffer;
    std::size_t begin = 0;
    std::size_t end = 0;
    UniqueFd pipeIn, pipeOut;  // spliced: the pipe, and how many bytes it holds
    std::size_t pipeBytes = 0;
    std::size_t piped = 0;
    bool reading = true;  // `from` has not ended
    bool closed = false;  // `to` was told the end (shutdown SHUT_WR)

    bool spliced() const { return pipeBytes != 0; }
    bool wantsRead() const {
        return reading && (spliced() ? piped < pipeBytes : end < buffer.size());
    }
    bool wantsWrite() const { return spliced() ? piped > 0 : begin < end; }

    // False: the connection broke.
    bool read() {
        ssize_t n = spliced() ? splice(from, nullptr, pipeIn.get(), nullptr, pipeBytes - piped,
                                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                              : recv(from, buffer.data() + end, buffer.size() - end, MSG_DONTWAIT);
        if (n > 0) {
            (spliced() ? piped : end) += static_cast<std::size_t>(n);
        } else if (n == 0) {
            reading = false;
        } else if (errno != EAGAIN && errno != EINTR) {
            return false;
        }
        return true;
    }
    // splice() has no MSG_NOSIGNAL: a client gone is EPIPE here only because
    // the forwarder ignores SIGPIPE (main.cpp).
    bool write() {
        ssize_t n = spliced()
                        ? splice(pipeOut.get(), nullptr, to, nullptr, piped,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                        : send(to, buffer.data() + begin, end - begin, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR;
        }
        if (spliced()) {
            piped -= static_cast<std::size_t>(n);
            return true;
        }
        begin += static_cast<std::size_t>(n);
        if (begin == end) {
            begin = end = 0;  // all passed on: the whole buffer is room again
        }
        return true;
    }

    // The end passed on once every byte before it was.
    void passEnd() {
        if (!reading && !wantsWrite() && !closed) {
            shutdown(to, SHUT_WR);
            closed = true;
        }
    }
};

// The poll entry of a descriptor that `in` reads and `out` writes; none (-1)
// when neither wants anything now, else a hung-up end would wake the poll
// at once, again and again, while the other side drains.
pollfd entryFor(int fd, const Direction& in, const Direction& out) {
    auto events =
        static_cast<short>((in.wantsRead() ? POLLIN : 0) | (out.wantsWrite() ? POLLOUT : 0));
    return {events != 0 ? fd : -1, events, 0};
}

// False: the connection broke.
bool serve(const pollfd& entry, Direction& in, Direction& out) {
    bool intact = true;
    if ((entry.revents & (POLLIN | POLLHUP | POLLERR)) && in.wantsRead()) {
        // What was read goes on at once if the other side has room: one
        // poll less per buffer.
        intact &= in.read() && (!in.wantsWrite() || in.write());
    }
    if ((entry.revents & (POLLOUT | POLLHUP | POLLERR)) && out.wantsWrite()) {
        intact &= out.write();
    }
    return intact;
}

// What the client sent beyond its request and was never read would make the
// close reset the connection, and the client could lose the answer.
void readAway(int fd) {
    char sink[16 * 1024];
    for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; ++i) {
    }
}

}  // namespace

void relayBothWays(int client, int inner, std::string taken, int stopFd,
                   std::chrono::milliseconds idle) {
    Direction up(client, inner, std::move(taken));
    Direction down(inner, client);
    // Done when the answer has ended and been passed on whole: the request
    // was the connection's last (see the header).
    while (!down.closed) {
        pollfd fds[3] = {
            entryFor(client, up, down), entryFor(inner, down, up), {stopFd, POLLIN, 0}};
        // Only bytes that cannot be delivered time out: a quiet stream (a
        // text follower of a silent build) waits as long as it would
        // unbridged, and libmicrohttpd's own timeouts end the rest.
        bool stuck = up.wantsWrite() || down.wantsWrite();
        int ready = poll(fds, 3, stuck ? static_cast<int>(idle.count()) : -1);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return;  // broken, or idle too long
        }
        if (fds[2].revents != 0 || !serve(fds[0], up, down) || !serve(fds[1], down, up)) {
            return;
        }
        up.passEnd();
        down.passEnd();
    }
    readAway(client);
}

ConnectionBridges::ConnectionBridges(std::chrono::milliseconds idle)
    : idle_(idle), stop_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!stop_) {
        throw std::runtime_error("eventfd for the connection bridges failed");
    }
}

ConnectionBridges::~ConnectionBridges() {
    stop();
}

void ConnectionBridges::reapDone() {
    for (auto it = bridges_.begin(); it != bridges_.end();) {
        if (it->done) {
            it->thread.join();
            it = bridges_.erase(it);
        } else {
            ++it;
        }
    }
}

UniqueFd ConnectionBridges::open(int client, std::string taken) {
    int pair[2];
    std::lock_guard lock(mutex_);
    reapDone();
    if (stopped_ || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
        ::close(client);
        return {};
    }
    auto& bridge = bridges_.emplace_back();
    bridge.thread =
        std::thread([this, client, inner = pair[0], taken = std::move(taken), &bridge]() mutable {
            relayBothWays(client, inner, std::move(taken), stop_.get(), idle_);
            ::close(inner);
            ::close(client);
            std::lock_guard lock(mutex_);
            bridge.done = true;
        });
    return UniqueFd(pair[1]);
}

void ConnectionBridges::stop() {
    std::list<Bridge> running;
    {
        std::lock_guard lock(mutex_);
        if (stopped_) {
            return;
        }
        stopped_ = true;
        std::uint64_t one = 1;
        (void)!write(stop_.get(), &one, sizeof one);
        running.splice(running.end(), bridges_);
    }
    for (auto& bridge : running) {
        bridge.thread.join();
    }
}

}  // namespace imagebuild::forwarder
