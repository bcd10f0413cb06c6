// What the output goes to: colours only on a terminal (and never with
// NO_COLOR), and a pager for long output on a terminal, like systemctl.
#pragma once

#include <sys/types.h>

#include <string>

namespace imagebuild::ctl {

// Pure, for tests: colours when writing to a tty, NO_COLOR unset or empty
// (https://no-color.org), and TERM is not "dumb".
bool colorsWanted(bool stdoutIsTty, const char* noColor, const char* term);
// The same, for this process's stdout and environment.
bool colorsEnabled();

// The pager command: $IMAGEBUILD_PAGER, then $PAGER, then "less"; empty when
// the chosen one is "cat" or empty (no pager).
std::string pagerCommand(const char* imagebuildPager, const char* pager);

// While alive, stdout goes through the pager (only if stdout is a tty and
// paging is wanted). The destructor closes the pipe and waits for the
// pager, so the shell prompt comes back after the pager ends.
class Pager {
public:
    explicit Pager(bool wanted);
    ~Pager();
    Pager(const Pager&) = delete;
    Pager& operator=(const Pager&) = delete;

private:
    pid_t pid_ = -1;
    int savedStdout_ = -1;
};

}  // namespace imagebuild::ctl
