#include "common/build_journal.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>

namespace imagebuild {

namespace {

std::string_view field(sd_journal* journal, const char* name) {
    const void* data = nullptr;
    std::size_t length = 0;
    if (sd_journal_get_data(journal, name, &data, &length) < 0) {
        return {};
    }
    std::string_view whole(static_cast<const char*>(data), length);
    auto eq = whole.find('=');
    return eq == std::string_view::npos ? std::string_view{} : whole.substr(eq + 1);
}

std::map<std::string, std::string> allFieldsOf(sd_journal* journal) {
    std::map<std::string, std::string> fields;
    const void* data = nullptr;
    std::size_t length = 0;
    sd_journal_restart_data(journal);
    while (sd_journal_enumerate_data(journal, &data, &length) > 0) {
        std::string_view whole(static_cast<const char*>(data), length);
        auto eq = whole.find('=');
        if (eq != std::string_view::npos) {
            fields.emplace(whole.substr(0, eq), whole.substr(eq + 1));
        }
    }
    return fields;
}

}  // namespace

void BuildJournal::Closer::operator()(sd_journal* journal) const {
    sd_journal_close(journal);
}

BuildJournal::BuildJournal(const std::string& buildId, bool allFields) : allFields_(allFields) {
    sd_journal* raw = nullptr;
    int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0) {
        throw std::system_error(-r, std::generic_category(), "cannot open the journal");
    }
    journal_.reset(raw);
    // The build's lines, or journald's notice that it dropped some of them
    // (the unit name is the agent's: imagebuild-<id>.service).
    auto match = "IMAGEBUILD_ID=" + buildId;
    auto dropped = std::string("MESSAGE_ID=") + kJournalDroppedMessageId;
    auto unit = "OBJECT_SYSTEMD_UNIT=imagebuild-" + buildId + ".service";
    r = sd_journal_add_match(raw, match.data(), match.size());
    if (r >= 0) {
        r = sd_journal_add_disjunction(raw);
    }
    if (r >= 0) {
        r = sd_journal_add_match(raw, dropped.data(), dropped.size());
    }
    if (r >= 0) {
        r = sd_journal_add_match(raw, unit.data(), unit.size());
    }
    if (r < 0) {
        throw std::system_error(-r, std::generic_category(), "cannot match journal on " + match);
    }
    sd_journal_seek_head(raw);
}

bool BuildJournal::seekAfter(const std::string& cursor) {
    sd_journal* j = journal_.get();
    if (cursor.empty() || sd_journal_seek_cursor(j, cursor.c_str()) < 0) {
        sd_journal_seek_head(j);
        return false;
    }
    // seek_cursor lands on the entry (if it still exists) or next to it; step
    // onto it and skip it only if it is exactly that entry.
    if (sd_journal_next(j) > 0 && sd_journal_test_cursor(j, cursor.c_str()) <= 0) {
        sd_journal_previous(j);
    }
    return true;
}

void BuildJournal::seekLast(std::uint64_t n) {
    sd_journal* j = journal_.get();
    sd_journal_seek_tail(j);
    // After seek_tail, previous() lands on the last entry; moving back n
    // entries and one more leaves next() on the n-th last.
    if (sd_journal_previous_skip(j, n + 1) < static_cast<int>(n + 1)) {
        sd_journal_seek_head(j);
    }
}

std::optional<JournalEntry> BuildJournal::next() {
    sd_journal* j = journal_.get();
    if (sd_journal_next(j) <= 0) {
        return std::nullopt;
    }
    JournalEntry entry;
    entry.cursor = cursor();
    sd_journal_get_realtime_usec(j, &entry.realtimeUsec);
    entry.hostname = field(j, "_HOSTNAME");
    entry.identifier = field(j, "SYSLOG_IDENTIFIER");
    if (entry.identifier.empty()) {
        entry.identifier = field(j, "_COMM");
    }
    entry.pid = field(j, "_PID");
    auto priority = field(j, "PRIORITY");
    if (priority.size() == 1 && priority[0] >= '0' && priority[0] <= '7') {
        entry.priority = priority[0] - '0';
    }
    entry.message = field(j, "MESSAGE");
    if (allFields_) {
        entry.fields = allFieldsOf(j);
    }
    return entry;
}

namespace {

// Sets `to` and returns true if `data` is NAME=value.
bool take(std::string_view data, std::string_view name, std::string& to) {
    if (data.size() <= name.size() || data[name.size()] != '=' ||
        data.compare(0, name.size(), name) != 0) {
        return false;
    }
    to.assign(data.substr(name.size() + 1));
    return true;
}

void clearRaw(RawEntry& e) {
    e.message.clear();
    e.lineBreak.clear();
    e.logEnd.clear();
    e.logEntries.clear();
    e.dropped.clear();
    e.buildLine = false;
    e.hostname.clear();
    e.identifier.clear();
    e.pid.clear();
}

}  // namespace

bool BuildJournal::nextRaw(RawEntry& e, bool meta) {
    sd_journal* j = journal_.get();
    if (sd_journal_next(j) <= 0) {
        return false;
    }
    clearRaw(e);
    std::string scratch;
    std::string comm;
    std::string uid;
    // One pass over the entry's fields: asking for each by name would walk
    // them once per field, and most of these are absent from most entries.
    const void* data = nullptr;
    std::size_t length = 0;
    sd_journal_restart_data(j);
    while (sd_journal_enumerate_data(j, &data, &length) > 0) {
        std::string_view d(static_cast<const char*>(data), length);
        if (take(d, "MESSAGE", e.message) || take(d, "_LINE_BREAK", e.lineBreak) ||
            take(d, kLogEndField, e.logEnd) || take(d, kLogEntriesField, e.logEntries) ||
            take(d, "N_DROPPED", e.dropped)) {
            continue;
        }
        if (take(d, "IMAGEBUILD_ID", scratch)) {
            e.buildLine = true;
        } else if (take(d, "_UID", uid)) {
            continue;
        } else if (meta) {
            static_cast<void>(take(d, "_HOSTNAME", e.hostname) ||
                              take(d, "SYSLOG_IDENTIFIER", e.identifier) ||
                              take(d, "_COMM", comm) || take(d, "_PID", e.pid));
        }
    }
    // Only the end-of-build step, as root, ends a log: a build that sends
    // the same fields itself (the unit's LogExtraFields= tag its native
    // journal entries too) writes an ordinary line. _UID is journald's own.
    if (!e.logEnd.empty() && uid != "0") {
        e.logEnd.clear();
        e.logEntries.clear();
    }
    if (meta) {
        sd_journal_get_realtime_usec(j, &e.realtimeUsec);
        if (e.identifier.empty()) {
            e.identifier = std::move(comm);
        }
    }
    return true;
}

void BuildJournal::refresh() {
    sd_journal_process(journal_.get());
}

std::string BuildJournal::cursor() const {
    char* raw = nullptr;
    if (sd_journal_get_cursor(journal_.get(), &raw) < 0) {
        return {};
    }
    std::string out(raw);
    std::free(raw);
    return out;
}

bool BuildJournal::wait(std::chrono::milliseconds timeout) {
    return sd_journal_wait(journal_.get(), static_cast<std::uint64_t>(timeout.count()) * 1000) >= 0;
}

int BuildJournal::fd() {
    return sd_journal_get_fd(journal_.get());
}

short BuildJournal::events() {
    int events = sd_journal_get_events(journal_.get());
    return static_cast<short>(events < 0 ? POLLIN : events);
}

bool BuildJournal::process() {
    return sd_journal_process(journal_.get()) >= 0;
}

bool BuildJournal::hasFiles() const {
    return sd_journal_has_runtime_files(journal_.get()) > 0 ||
           sd_journal_has_persistent_files(journal_.get()) > 0;
}

std::uint64_t countBuildEntries(const std::string& buildId) {
    sd_journal* raw = nullptr;
    int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0) {
        throw std::system_error(-r, std::generic_category(), "cannot open the journal");
    }
    std::unique_ptr<sd_journal, decltype(&sd_journal_close)> journal(raw, &sd_journal_close);
    auto match = "IMAGEBUILD_ID=" + buildId;
    r = sd_journal_add_match(raw, match.data(), match.size());
    if (r < 0) {
        throw std::system_error(-r, std::generic_category(), "cannot match journal on " + match);
    }
    std::uint64_t n = 0;
    while (sd_journal_next(raw) > 0) {
        ++n;
    }
    return n;
}

std::string formatShort(const JournalEntry& entry) {
    std::time_t seconds = static_cast<std::time_t>(entry.realtimeUsec / 1000000);
    std::tm local{};
    localtime_r(&seconds, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%b %d %H:%M:%S", &local);
    if (entry.pid.empty()) {
        return fmt::format("{} {} {}: {}", stamp, entry.hostname, entry.identifier, entry.message);
    }
    return fmt::format("{} {} {}[{}]: {}", stamp, entry.hostname, entry.identifier, entry.pid,
                       entry.message);
}

std::string formatJson(const JournalEntry& entry) {
    nlohmann::json json(entry.fields);
    json["__CURSOR"] = entry.cursor;
    json["__REALTIME_TIMESTAMP"] = std::to_string(entry.realtimeUsec);
    if (entry.fields.empty()) {
        json["MESSAGE"] = entry.message;
    }
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace imagebuild
