// Running a short helper program and reading what it prints: the version of
// a build tool (staging), what rpm says a package is and createrepo_c's
// complaints (side_repo).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace imagebuild::agent {

struct CapturedOutput {
    std::string text;       // stdout and stderr, at most maxBytes
    bool failed = true;     // did not start, or exited non-zero
    bool exitedOk = false;  // exited 0 (not killed, not timed out)
};

struct CaptureLimits {
    int silenceMs = 5000;         // killed after this long without output
    std::size_t maxBytes = 4096;  // killed once it printed this much
};

// Runs argv (looked up in PATH) with stdin on /dev/null and stdout and
// stderr on a pipe. The child is killed and reaped in every case; one still
// running then (a slow talker) has not failed, but has not exited ok.
CapturedOutput captureOutput(const std::vector<std::string>& argv, CaptureLimits limits = {});

}  // namespace imagebuild::agent
