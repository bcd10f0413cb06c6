#include "ctl/terminal.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace imagebuild::ctl {

bool colorsWanted(bool stdoutIsTty, const char* noColor, const char* term) {
    if (!stdoutIsTty) {
        return false;
    }
    if (noColor && *noColor) {
        return false;
    }
    return !(term && std::strcmp(term, "dumb") == 0);
}

bool colorsEnabled() {
    return colorsWanted(isatty(STDOUT_FILENO) == 1, std::getenv("NO_COLOR"), std::getenv("TERM"));
}

std::string pagerCommand(const char* imagebuildPager, const char* pager) {
    std::string chosen = imagebuildPager ? imagebuildPager : (pager ? pager : "less");
    if (chosen.empty() || chosen == "cat") {
        return {};
    }
    return chosen;
}

Pager::Pager(bool wanted) {
    if (!wanted || isatty(STDOUT_FILENO) != 1) {
        return;
    }
    auto command = pagerCommand(std::getenv("IMAGEBUILD_PAGER"), std::getenv("PAGER"));
    if (command.empty()) {
        return;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        return;  // no pager is better than no output
    }
    std::fflush(stdout);
    pid_ = fork();
    if (pid_ < 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid_ == 0) {
        dup2(fds[0], STDIN_FILENO);
        // F: quit if one screen, R: pass colours, S: chop long lines, X: keep the screen.
        setenv("LESS", "FRSXMK", 0);
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    savedStdout_ = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
}

Pager::~Pager() {
    if (pid_ <= 0) {
        return;
    }
    std::fflush(stdout);
    dup2(savedStdout_, STDOUT_FILENO);  // closes the pipe's write end: the pager sees EOF
    close(savedStdout_);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace imagebuild::ctl
