#include "ctl/polkit_agent.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace imagebuild::ctl {

namespace {

constexpr const char* kPkttyagent = "/usr/bin/pkttyagent";

}  // namespace

PolkitTtyAgent::PolkitTtyAgent() {
    if (isatty(STDIN_FILENO) != 1 || geteuid() == 0 || access(kPkttyagent, X_OK) != 0) {
        return;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        return;
    }
    pid_ = fork();
    if (pid_ < 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid_ == 0) {
        // The notify fd must survive exec: move it off O_CLOEXEC.
        int notify = dup(fds[1]);
        auto fd = std::to_string(notify);
        execl(kPkttyagent, kPkttyagent, "--notify-fd", fd.c_str(), "--fallback",
              static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    // pkttyagent closes the notify fd once it is registered; wait for that so
    // our call cannot reach polkit before the agent does.
    char byte;
    while (read(fds[0], &byte, 1) < 0 && errno == EINTR) {
    }
    close(fds[0]);
}

PolkitTtyAgent::~PolkitTtyAgent() {
    if (pid_ <= 0) {
        return;
    }
    kill(pid_, SIGTERM);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace imagebuild::ctl
