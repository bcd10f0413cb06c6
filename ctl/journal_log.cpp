#include "ctl/journal_log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <system_error>

#include "common/build_journal.hpp"
#include "common/build_log.hpp"
#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

namespace {

constexpr std::chrono::milliseconds kQuiet{1000};  // ask "ended?" after 1 s of silence
constexpr std::size_t kBatch = 4096;
constexpr std::size_t kFlushBytes = 1 << 16;

[[noreturn]] void cannotRead(const std::exception& e) {
    throw CtlError(kExitFailure, fmt::format("Cannot read the journal: {}", e.what()));
}

void requireFiles(bool hasFiles) {
    if (hasFiles) {
        return;
    }
    if (geteuid() == 0) {
        throw CtlError(kExitFailure,
                       "No journal files found on this host (is systemd-journald running?)");
    }
    throw CtlError(kExitAccessDenied,
                   "No journal files could be read: run as root, or as a member of the "
                   "systemd-journal group");
}

BuildLog openBuildLog(const std::string& id, LogFormat format) {
    try {
        BuildLog log(id, {false, format != LogFormat::kCat});
        requireFiles(log.hasFiles());
        return log;
    } catch (const std::system_error& e) {
        cannotRead(e);
    }
}

// Buffered: one write per 64 KiB, as journalctl does through stdio.
class Writer {
public:
    Writer(std::FILE* out, LogFormat format) : out_(out), format_(format) {}
    ~Writer() { flush(); }

    void line(const LogLine& line) {
        if (format_ == LogFormat::kShort) {
            buffer_ += formatShort(line);
        } else {
            buffer_ += line.text;
        }
        buffer_ += '\n';
        if (buffer_.size() >= kFlushBytes) {
            flush();
        }
    }
    void flush() {
        std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
        std::fflush(out_);
        buffer_.clear();
    }

private:
    std::FILE* out_;
    LogFormat format_;
    std::string buffer_;
};

// -o json: one journal entry per line with every field, as journalctl -o
// json, up to the end mark; an end mark is not a line of the build.
void printJson(const JournalQuery& query, std::FILE* out) {
    try {
        BuildJournal journal(query.id, true);
        requireFiles(journal.hasFiles());
        if (query.lines) {
            journal.seekLast(*query.lines);
        }
        while (auto entry = journal.next()) {
            if (entry->fields.count(kLogEndField) != 0) {
                break;
            }
            auto line = formatJson(*entry) + "\n";
            std::fwrite(line.data(), 1, line.size(), out);
        }
        std::fflush(out);
    } catch (const std::system_error& e) {
        cannotRead(e);
    }
}

}  // namespace

void printBuildLog(const JournalQuery& query, std::FILE* out,
                   const std::function<bool()>& finished) {
    if (query.format == LogFormat::kJson && !query.follow) {
        printJson(query, out);
        return;
    }
    auto log = openBuildLog(query.id, query.format);
    if (query.lines) {
        log.seekLast(*query.lines);
    }
    // -o json when following shows the lines as -o short does.
    Writer writer(out, query.format == LogFormat::kCat ? LogFormat::kCat : LogFormat::kShort);
    if (!query.follow) {
        while (auto line = log.next()) {
            writer.line(*line);
        }
        return;
    }
    LogFollower follower(log, [&finished]() -> std::optional<std::string> {
        if (finished && finished()) {
            return std::string("finished");
        }
        return std::nullopt;
    });
    std::vector<LogLine> lines;
    try {
        for (;;) {
            lines.clear();
            auto step = follower.step(lines, kBatch, kQuiet);
            for (const auto& line : lines) {
                writer.line(line);
            }
            writer.flush();
            if (step == LogFollower::Step::Ended) {
                return;
            }
        }
    } catch (const std::system_error& e) {
        throw CtlError(kExitFailure, fmt::format("Cannot follow the journal: {}", e.what()));
    }
}

std::vector<std::string> lastLogLines(const std::string& id, std::uint64_t n) {
    auto log = openBuildLog(id, LogFormat::kShort);
    log.seekLast(n + 1);  // and the end mark, if the build has ended
    std::vector<std::string> lines;
    while (auto line = log.next()) {
        lines.push_back(formatShort(*line));
    }
    if (lines.size() > n) {
        lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
    }
    return lines;
}

}  // namespace imagebuild::ctl
