#include "ctl/polkit_agent.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace imagebuild::ctl {

namespace {

constexpr const char* kPkttyagent = "/usr/bin/pkttyagent";

// In a logind session, the agent registers as a fallback, as systemctl's
// does: a desktop's own agent for the session wins, the tty agent answers
// when there is none. Outside any session (ssh without pam_systemd, su,
// runuser, a container) polkit (122) never uses a fallback agent: it only
// falls back after finding the caller's session. There the agent must
// register as the one for our process, or polkit answers "challenge" and
// no prompt ever appears.
bool inLoginSession() {
    char* session = nullptr;
    if (sd_pid_get_session(0, &session) < 0) {
        return false;
    }
    free(session);
    return true;
}

}  // namespace

PolkitTtyAgent::PolkitTtyAgent() {
    if (isatty(STDIN_FILENO) != 1 || geteuid() == 0 || access(kPkttyagent, X_OK) != 0) {
        return;
    }
    const bool fallback = inLoginSession();
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
        if (fallback) {
            execl(kPkttyagent, kPkttyagent, "--notify-fd", fd.c_str(), "--fallback",
                  static_cast<char*>(nullptr));
        } else {
            execl(kPkttyagent, kPkttyagent, "--notify-fd", fd.c_str(), static_cast<char*>(nullptr));
        }
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
