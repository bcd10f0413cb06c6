#include "ctl/journal_log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <system_error>

#include "common/build_journal.hpp"
#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

namespace {

constexpr std::chrono::milliseconds kQuiet{1000};     // ask "finished?" after 1 s of silence
constexpr std::chrono::milliseconds kStraggler{500};  // lines still in flight at the end

BuildJournal openBuildJournal(const std::string& id, LogFormat format) {
    try {
        BuildJournal journal(id, format == LogFormat::kJson);
        if (journal.hasFiles()) {
            return journal;
        }
    } catch (const std::system_error& e) {
        throw CtlError(kExitFailure, fmt::format("Cannot read the journal: {}", e.what()));
    }
    if (geteuid() == 0) {
        throw CtlError(kExitFailure,
                       "No journal files found on this host (is systemd-journald running?)");
    }
    throw CtlError(kExitAccessDenied,
                   "No journal files could be read: run as root, or as a member of the "
                   "systemd-journal group");
}

void writeEntry(const JournalEntry& entry, LogFormat format, std::FILE* out) {
    std::string line;
    switch (format) {
        case LogFormat::kCat:
            line = entry.message;
            break;
        case LogFormat::kJson:
            line = formatJson(entry);
            break;
        case LogFormat::kShort:
            line = formatShort(entry);
            break;
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out);
}

std::uint64_t drain(BuildJournal& journal, LogFormat format, std::FILE* out) {
    std::uint64_t count = 0;
    if (format == LogFormat::kCat) {
        // MESSAGE only, as journalctl -o cat reads it: the cursor and the
        // other fields next() reads would cost more than the message.
        std::string message;
        while (journal.nextMessage(message)) {
            message += '\n';
            std::fwrite(message.data(), 1, message.size(), out);
            ++count;
        }
        std::fflush(out);
        return count;
    }
    while (auto entry = journal.next()) {
        writeEntry(*entry, format, out);
        ++count;
    }
    std::fflush(out);
    return count;
}

bool askFinished(const std::function<bool()>& finished, bool& canAsk) {
    if (!canAsk || !finished) {
        return false;
    }
    try {
        return finished();
    } catch (const std::exception&) {
        canAsk = false;  // no agent to ask: follow like journalctl -f
        return false;
    }
}

void waitFor(BuildJournal& journal, std::chrono::milliseconds timeout) {
    if (!journal.wait(timeout)) {
        throw CtlError(kExitFailure, "Cannot follow the journal");
    }
}

}  // namespace

void printBuildLog(const JournalQuery& query, std::FILE* out,
                   const std::function<bool()>& finished) {
    auto journal = openBuildJournal(query.id, query.format);
    if (query.lines) {
        journal.seekLast(*query.lines);
    }
    drain(journal, query.format, out);
    bool canAsk = true;
    while (query.follow) {
        waitFor(journal, kQuiet);
        auto printed = drain(journal, query.format, out);
        if (printed == 0 && askFinished(finished, canAsk)) {
            waitFor(journal, kStraggler);
            drain(journal, query.format, out);
            return;
        }
    }
}

std::vector<std::string> lastLogLines(const std::string& id, std::uint64_t n) {
    auto journal = openBuildJournal(id, LogFormat::kShort);
    journal.seekLast(n);
    std::vector<std::string> lines;
    while (auto entry = journal.next()) {
        lines.push_back(formatShort(*entry));
    }
    return lines;
}

}  // namespace imagebuild::ctl
