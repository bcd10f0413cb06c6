// The forwarder's setsockopt(): TCP_CORK is never set (libmicrohttpd asks
// for it around sendfile), every other option is.
#include <gtest/gtest.h>

#include <cerrno>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/unique_fd.hpp"

using imagebuild::UniqueFd;

namespace {

int optionOf(int fd, int name) {
    int value = -1;
    socklen_t length = sizeof value;
    EXPECT_EQ(getsockopt(fd, IPPROTO_TCP, name, &value, &length), 0);
    return value;
}

}  // namespace

TEST(ForwarderUncorkedSockets, CorkIsReportedDoneButNotSet) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    EXPECT_EQ(setsockopt(fd.get(), IPPROTO_TCP, TCP_CORK, &one, sizeof one), 0);
    EXPECT_EQ(optionOf(fd.get(), TCP_CORK), 0);
}

TEST(ForwarderUncorkedSockets, OtherOptionsAreSetAndErrorsReported) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    EXPECT_EQ(setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
    EXPECT_EQ(optionOf(fd.get(), TCP_NODELAY), 1);
    errno = 0;
    EXPECT_EQ(setsockopt(-1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), -1);
    EXPECT_EQ(errno, EBADF);
}
