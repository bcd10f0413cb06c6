// A build's log, read straight from the journal with sd-journal by
// IMAGEBUILD_ID (every line of a build carries it): no agent needed, and the
// same lines `journalctl IMAGEBUILD_ID=<id>` shows.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ctl/arguments.hpp"

namespace imagebuild::ctl {

struct JournalQuery {
    std::string id;
    std::optional<std::uint64_t> lines;  // only the last N
    bool follow = false;
    LogFormat format = LogFormat::kShort;
};

// Writes the lines to out. With follow, waits for new lines until
// finished() says the build has ended (asked only while the journal is
// quiet; if it throws, the log is followed until interrupted, as journalctl
// -f does). Throws CtlError if the journal cannot be read.
void printBuildLog(const JournalQuery& query, std::FILE* out,
                   const std::function<bool()>& finished);

// The last n messages in the short format, for `status`.
std::vector<std::string> lastLogLines(const std::string& id, std::uint64_t n);

}  // namespace imagebuild::ctl
