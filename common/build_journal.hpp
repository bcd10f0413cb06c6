// The lines of one build, read from the local journal: entries matching
// IMAGEBUILD_ID=<id> (every line of a build carries it), in order, each with
// its cursor. No agent is needed: these are the lines
// `journalctl IMAGEBUILD_ID=<id>` shows. Shared by imagebuildctl (log,
// status), the forwarder (monitor pages, SSE resume by cursor) and staging
// (build.log, the log tail of a final mail).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sd_journal;

namespace imagebuild {

// journald's "Suppressed N messages from <unit>" (SD_MESSAGE_JOURNAL_DROPPED):
// it carries the unit as OBJECT_SYSTEMD_UNIT= and the count as N_DROPPED=,
// but none of the unit's own fields, so a build's reader matches it apart.
inline constexpr const char* kJournalDroppedMessageId = "a596d6fe7bfa4994828e72309e95d61e";
// The end mark of a build's log (common/build_log.hpp).
inline constexpr const char* kLogEndField = "IMAGEBUILD_LOG_END";
inline constexpr const char* kLogEntriesField = "IMAGEBUILD_LOG_ENTRIES";

struct JournalEntry {
    std::string cursor;
    std::uint64_t realtimeUsec = 0;
    std::string hostname;
    std::string identifier;  // SYSLOG_IDENTIFIER, else _COMM
    std::string pid;
    int priority = 6;
    std::string message;
    std::map<std::string, std::string> fields;  // every field, only if asked for
};

// One journal entry as the line reader sees it (BuildJournal::nextRaw): the
// MESSAGE bytes and the few fields that say how it joins its neighbours.
struct RawEntry {
    std::string message;
    std::string lineBreak;           // _LINE_BREAK: line-max, nul, eof, pid-change; "" for '\n'
    std::string logEnd;              // IMAGEBUILD_LOG_END: the end mark's final state
    std::string logEntries;          // IMAGEBUILD_LOG_ENTRIES: entries the build had before it
    std::string dropped;             // N_DROPPED of journald's "Suppressed" message
    bool buildLine = false;          // carries IMAGEBUILD_ID (journald's own notices do not)
    std::uint64_t realtimeUsec = 0;  // the rest only with meta
    std::string hostname;
    std::string identifier;
    std::string pid;
};

class BuildJournal {
public:
    // Opens the local system journal, matched on IMAGEBUILD_ID=<buildId>,
    // positioned before the first line. allFields fills JournalEntry::fields.
    // Throws std::system_error if the journal cannot be opened.
    explicit BuildJournal(const std::string& buildId, bool allFields = false);

    // Positions the reader just after the entry with this cursor, so a
    // client resuming from it neither loses nor repeats a line. False if the
    // cursor is not valid (the reader then starts from the first line).
    bool seekAfter(const std::string& cursor);
    // Positions the reader so that next() returns the last n lines.
    void seekLast(std::uint64_t n);
    // The next entry, or nullopt if there is none (yet).
    std::optional<JournalEntry> next();
    // Moves to the next entry and reads it in one pass over its fields;
    // false if there is none (yet). meta: also time, host, identifier, pid.
    bool nextRaw(RawEntry& entry, bool meta);
    // Makes entries journald stored since the last wait() visible.
    void refresh();
    // The cursor of the entry the reader is on (after next()/nextRaw()).
    std::string cursor() const;
    // Waits up to timeout for the journal to change; false if the journal
    // cannot be waited on (an error, never a timeout: callers must stop, or
    // they would spin). Never throws: callers run inside C callbacks.
    bool wait(std::chrono::milliseconds timeout);
    // For a caller that waits on many journals in one poll(): the
    // descriptor to wait on (sd_journal_get_fd; it takes one inotify
    // instance) and the events to wait for; negative errno if there is none.
    int fd();
    short events();
    // Makes what changed since the last poll visible (sd_journal_process);
    // false if the journal cannot be processed.
    bool process();
    // False when no journal file could be opened at all: journald is not
    // running, or the caller may not read the system journal.
    bool hasFiles() const;

private:
    struct Closer {
        void operator()(sd_journal* journal) const;
    };
    std::unique_ptr<sd_journal, Closer> journal_;
    bool allFields_;
};

// How many entries carry IMAGEBUILD_ID=<buildId>: counted without reading
// them. Throws std::system_error if the journal cannot be opened.
std::uint64_t countBuildEntries(const std::string& buildId);

// "Nov 26 02:40:08 host ident[pid]: message", as `journalctl -o short`
// prints it (local time).
std::string formatShort(const JournalEntry& entry);
// One line of `journalctl -o json`: every field, plus __CURSOR and
// __REALTIME_TIMESTAMP; bad UTF-8 is replaced, never fatal.
std::string formatJson(const JournalEntry& entry);

}  // namespace imagebuild
