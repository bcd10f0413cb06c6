#include "agent/mailer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

#include "common/atomic_file.hpp"
#include "common/unique_fd.hpp"

extern char** environ;

namespace imagebuild::agent {

namespace {

std::string describeStatus(const std::string& program, int status) {
    if (WIFEXITED(status)) {
        return fmt::format("{} exited with status {}", program, WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return fmt::format("{} was killed by signal {}", program, strsignal(WTERMSIG(status)));
    }
    return fmt::format("{} ended abnormally", program);
}

}  // namespace

std::string sendMail(const MailConfig& config, const MailMessage& message) {
    std::vector<std::string> argv = config.sendmail;
    argv.push_back("--");
    argv.insert(argv.end(), message.to.begin(), message.to.end());
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
        return fmt::format("cannot create a pipe to {}: {}", argv[0], std::strerror(errno));
    }
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, readEnd.get(), STDIN_FILENO);
    pid_t pid = -1;
    int r = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    readEnd.reset();
    if (r != 0) {
        return fmt::format("cannot run {}: {}", argv[0], std::strerror(r));
    }
    // A sendmail that exits early must not kill us with SIGPIPE. (Only the
    // short-lived end-of-build helpers send mail, so this is theirs to set.)
    ::signal(SIGPIPE, SIG_IGN);
    std::string writeError;
    try {
        writeAllToFd(writeEnd.get(), renderMail(message), argv[0]);
    } catch (const std::exception& e) {
        writeError = e.what();
    }
    writeEnd.reset();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        // A write error then is only a consequence (a broken pipe).
        return describeStatus(argv[0], status);
    }
    return writeError;  // empty: sent
}

MailAttempt sendOnce(const std::filesystem::path& buildDir, const std::string& kind,
                     const MailConfig& config, const MailMessage& message) {
    if (!config.enabled || message.to.empty()) {
        return {MailOutcome::kNotNeeded, config.enabled ? "no notify addresses" : "mail disabled"};
    }
    auto marker = buildDir / ("mail-" + kind);
    if (auto previous = readFile(marker)) {
        return {MailOutcome::kAlreadyHandled, "already handled: " + *previous};
    }
    writeFileAtomic(marker, "sending\n");
    auto error = sendMail(config, message);
    writeFileAtomic(marker, error.empty() ? "sent\n" : "failed: " + error + "\n");
    if (!error.empty()) {
        return {MailOutcome::kFailed, error};
    }
    return {MailOutcome::kSent, ""};
}

}  // namespace imagebuild::agent
