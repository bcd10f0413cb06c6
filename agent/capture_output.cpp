#include "agent/capture_output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.hpp"

extern char** environ;

namespace imagebuild::agent {

CapturedOutput captureOutput(const std::vector<std::string>& argv, CaptureLimits limits) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
        return {};
    }
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = -1;
    int r = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    writeEnd.reset();
    if (r != 0) {
        return {};
    }
    std::string output;
    bool ended = false;
    pollfd pfd{readEnd.get(), POLLIN, 0};
    while (output.size() < limits.maxBytes && ::poll(&pfd, 1, limits.silenceMs) > 0) {
        char buffer[1024];
        ssize_t n = ::read(readEnd.get(), buffer, sizeof buffer);
        if (n <= 0) {
            ended = n == 0;
            break;
        }
        output.append(buffer, static_cast<std::size_t>(n));
    }
    if (!ended) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    bool exitedNonZero = WIFEXITED(status) && WEXITSTATUS(status) != 0;
    bool exitedOk = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return {std::move(output), exitedNonZero, exitedOk};
}

}  // namespace imagebuild::agent
