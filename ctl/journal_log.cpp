#include "ctl/journal_log.hpp"

#include <fmt/format.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

namespace {

struct JournalCloser {
    void operator()(sd_journal* j) const { sd_journal_close(j); }
};
using Journal = std::unique_ptr<sd_journal, JournalCloser>;

struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
};

constexpr std::uint64_t kQuietUsec = 1000000;     // ask "finished?" after 1 s of silence
constexpr std::uint64_t kStragglerUsec = 500000;  // lines still in flight at the end

Journal openBuildJournal(const std::string& id) {
    sd_journal* raw = nullptr;
    int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY);
    if (r < 0) {
        throw CtlError(kExitFailure, fmt::format("Cannot open the journal: {}", std::strerror(-r)));
    }
    Journal journal(raw);
    auto match = "IMAGEBUILD_ID=" + id;
    r = sd_journal_add_match(journal.get(), match.c_str(), match.size());
    if (r < 0) {
        throw CtlError(kExitUsage, fmt::format("'{}' cannot be used as a build id", id));
    }
    if (sd_journal_has_runtime_files(journal.get()) <= 0 &&
        sd_journal_has_persistent_files(journal.get()) <= 0) {
        if (geteuid() == 0) {
            throw CtlError(kExitFailure,
                           "No journal files found on this host (is systemd-journald running?)");
        }
        throw CtlError(kExitAccessDenied,
                       "No journal files could be read: run as root, or as a member of the "
                       "systemd-journal group");
    }
    return journal;
}

std::string_view field(sd_journal* j, const char* name) {
    const void* data = nullptr;
    std::size_t length = 0;
    if (sd_journal_get_data(j, name, &data, &length) < 0) {
        return {};
    }
    std::string_view whole(static_cast<const char*>(data), length);
    auto eq = whole.find('=');
    return eq == std::string_view::npos ? std::string_view{} : whole.substr(eq + 1);
}

std::string shortLine(sd_journal* j) {
    std::uint64_t usec = 0;
    sd_journal_get_realtime_usec(j, &usec);
    std::time_t seconds = static_cast<std::time_t>(usec / 1000000);
    std::tm tm{};
    localtime_r(&seconds, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%b %d %H:%M:%S", &tm);
    auto ident = field(j, "SYSLOG_IDENTIFIER");
    if (ident.empty()) {
        ident = field(j, "_COMM");
    }
    auto pid = field(j, "_PID");
    return fmt::format("{} {} {}{}{}{}: {}", stamp, field(j, "_HOSTNAME"), ident,
                       pid.empty() ? "" : "[", pid, pid.empty() ? "" : "]", field(j, "MESSAGE"));
}

std::string jsonLine(sd_journal* j) {
    nlohmann::json entry = nlohmann::json::object();
    char* cursor = nullptr;
    if (sd_journal_get_cursor(j, &cursor) >= 0) {
        std::unique_ptr<char, FreeDeleter> owned(cursor);
        entry["__CURSOR"] = owned.get();
    }
    std::uint64_t realtime = 0;
    sd_journal_get_realtime_usec(j, &realtime);
    entry["__REALTIME_TIMESTAMP"] = std::to_string(realtime);
    const void* data = nullptr;
    std::size_t length = 0;
    sd_journal_restart_data(j);
    while (sd_journal_enumerate_data(j, &data, &length) > 0) {
        std::string_view whole(static_cast<const char*>(data), length);
        auto eq = whole.find('=');
        if (eq != std::string_view::npos) {
            entry[std::string(whole.substr(0, eq))] = std::string(whole.substr(eq + 1));
        }
    }
    // Binary field values must not abort the stream: replace bad UTF-8.
    return entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void writeEntry(sd_journal* j, LogFormat format, std::FILE* out) {
    if (format == LogFormat::kCat) {
        auto message = field(j, "MESSAGE");
        std::fwrite(message.data(), 1, message.size(), out);
        std::fputc('\n', out);
        return;
    }
    auto line = format == LogFormat::kJson ? jsonLine(j) : shortLine(j);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out);
}

// Positions the journal so that sd_journal_next() yields the last n entries.
void seekLast(sd_journal* j, std::optional<std::uint64_t> lines) {
    if (!lines) {
        sd_journal_seek_head(j);
        return;
    }
    sd_journal_seek_tail(j);
    int skipped = sd_journal_previous_skip(j, *lines + 1);
    if (skipped >= 0 && static_cast<std::uint64_t>(skipped) <= *lines) {
        sd_journal_seek_head(j);  // fewer than n+1 entries: all of them
    }
}

std::uint64_t drain(sd_journal* j, LogFormat format, std::FILE* out) {
    std::uint64_t count = 0;
    while (sd_journal_next(j) > 0) {
        writeEntry(j, format, out);
        ++count;
    }
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

}  // namespace

void printBuildLog(const JournalQuery& query, std::FILE* out,
                   const std::function<bool()>& finished) {
    auto journal = openBuildJournal(query.id);
    auto* j = journal.get();
    seekLast(j, query.lines);
    drain(j, query.format, out);
    std::fflush(out);
    bool canAsk = true;
    while (query.follow) {
        int r = sd_journal_wait(j, kQuietUsec);
        if (r < 0) {
            throw CtlError(kExitFailure,
                           fmt::format("Cannot follow the journal: {}", std::strerror(-r)));
        }
        auto printed = drain(j, query.format, out);
        std::fflush(out);
        if (printed == 0 && askFinished(finished, canAsk)) {
            sd_journal_wait(j, kStragglerUsec);
            drain(j, query.format, out);
            std::fflush(out);
            return;
        }
    }
}

std::vector<std::string> lastLogLines(const std::string& id, std::uint64_t n) {
    auto journal = openBuildJournal(id);
    auto* j = journal.get();
    seekLast(j, n);
    std::vector<std::string> lines;
    while (sd_journal_next(j) > 0) {
        lines.push_back(shortLine(j));
    }
    return lines;
}

}  // namespace imagebuild::ctl
