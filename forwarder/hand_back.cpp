#include "forwarder/hand_back.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/sockios.h>
#include <linux/tcp.h>  // tcp_info with tcpi_bytes_received (glibc's lacks it)
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "forwarder/json_error.hpp"

namespace imagebuild::forwarder {

namespace {

const char* reasonPhrase(unsigned status) {
    switch (status) {
        case 400:
            return "Bad Request";
        case 408:
            return "Request Timeout";
        case 411:
            return "Length Required";
        case 414:
            return "URI Too Long";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Error";
    }
}

// poll() is level-triggered and the peeked bytes stay queued: the low-water
// mark makes it wake for more than what is there already.
void wakeAbove(int fd, std::size_t queued) {
    int mark = static_cast<int>(queued + 1);
    setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &mark, sizeof(mark));
}

}  // namespace

std::optional<std::uint64_t> bytesConsumed(int fd, std::uint64_t expected) {
    tcp_info info{};
    socklen_t length = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
        length < offsetof(tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) {
        return std::nullopt;
    }
    if (info.tcpi_bytes_received == expected) {
        return expected;  // nothing more came: nothing is queued either
    }
    int queued = 0;
    if (ioctl(fd, SIOCINQ, &queued) != 0) {
        return std::nullopt;
    }
    return info.tcpi_bytes_received - static_cast<std::uint64_t>(queued);
}

std::optional<HeadWait> peekHead(int fd, const HeadLimits& limits, std::size_t& seen) {
    // One per thread, made once: zeroing 16 KiB for every kept-alive request
    // showed as the thread's largest cost in user space.
    thread_local std::string buffer;
    buffer.resize(std::max(buffer.size(), limits.maxHeadBytes + 1));
    ssize_t n = recv(fd, buffer.data(), limits.maxHeadBytes + 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return std::nullopt;
    }
    HeadWait result;
    if (n <= 0 || static_cast<std::size_t>(n) == seen) {
        result.outcome = HeadWait::Outcome::Ended;  // closed (or broken)
        endHeadWait(fd, seen);
        return result;
    }
    seen = static_cast<std::size_t>(n);
    std::string_view data(buffer.data(), seen);
    auto length = headLength(data);
    auto problem = length == 0 ? checkPartialHead(data, limits)
                               : checkRequestHead(data.substr(0, length), limits);
    if (problem) {
        result.outcome = HeadWait::Outcome::Refused;
        result.problem = std::move(*problem);
    } else if (length != 0) {
        result.outcome = HeadWait::Outcome::Arrived;
        result.headBytes = length;
        result.head = data.substr(0, length);
    } else {
        wakeAbove(fd, seen);
        return std::nullopt;
    }
    endHeadWait(fd, seen);
    return result;
}

void endHeadWait(int fd, std::size_t seen) {
    if (seen > 0) {
        wakeAbove(fd, 0);
    }
}

void refuseConnection(int fd, unsigned status, const std::string& error,
                      const std::string& message) {
    auto body = jsonError(status, error, message).body;
    auto answer = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n{}",
        status, reasonPhrase(status), body.size(), body);
    (void)!send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    // What the client sent and we did not read would make close() reset the
    // connection, and the client could lose the answer: read it away first.
    char sink[16 * 1024];
    for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; ++i) {
    }
}

UniqueFd takeFromBeneath(int fd) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        shutdown(fd, SHUT_RDWR);  // the owner reads an end all the same
        return {};
    }
    UniqueFd taken(fcntl(fd, F_DUPFD_CLOEXEC, 0));
    ::close(pair[1]);
    dup2(pair[0], fd);  // fd is the ended pair now; `taken` the client's socket
    ::close(pair[0]);
    if (taken) {
        fcntl(taken.get(), F_SETFL, fcntl(taken.get(), F_GETFL) | O_NONBLOCK);
    }
    return taken;
}

void endBeneath(int fd) {
    takeFromBeneath(fd);  // the last descriptor of the client's socket closes with it
}

}  // namespace imagebuild::forwarder
