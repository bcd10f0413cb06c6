// A build's log as lines, the way the build wrote them, and the one place
// that decides where the log ends. Shared by every reader: imagebuildctl log
// [-f], the staged build.log and the final mail's excerpt, the forwarder's
// monitor (text, HTML, SSE).
//
// Lines: journald splits what a program writes into entries at '\n', at a
// NUL byte, at LineMax= (48 KiB by default) and where another process
// writes; each entry says why in _LINE_BREAK=. BuildLog joins the first
// three back, so a 64 KiB line is one line and "a\0b\n" is the three bytes
// a, NUL, b. A line that had no final newline ends the same way as others.
//
// The end: the build's unit, once its own processes are gone, asks journald
// to store everything they wrote (syncJournal) and then writes an end mark
// (writeLogEnd) naming the build's final state, and syncs again. A reader
// that reaches the mark has every line, whenever it started. If the mark
// never comes (the end-of-build hook did not run), a follower ends when the
// build is known to have ended and a read after that finds nothing more,
// and says that the log may be incomplete.
//
// Lines lost anyway are said in-line, with how many, as a notice: journald's
// rate limit ("Suppressed N messages"), and lines no longer in the journal
// (rotated or vacuumed) counted against the number the end mark carries.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/build_journal.hpp"

namespace imagebuild {

struct LogLine {
    bool notice = false;  // a sentence of ours about the log, not a line of the build
    std::string text;     // the line's bytes, without the final newline
    std::string cursor;   // of its last journal entry (only if asked for)
    // Of its first entry (only if asked for), for journalctl's short format.
    std::uint64_t realtimeUsec = 0;
    std::string hostname;
    std::string identifier;
    std::string pid;
};

struct LogReadOptions {
    bool cursor = false;  // fill LogLine::cursor (SSE ids, the HTML resume point)
    bool meta = false;    // fill time, host, identifier and pid
};

class BuildLog {
public:
    // Throws std::system_error if the journal cannot be opened.
    BuildLog(const std::string& buildId, LogReadOptions options);

    bool hasFiles() const { return journal_.hasFiles(); }
    // See BuildJournal; a reader resumed or started at the tail cannot know
    // how many lines came before, so it does not count lost ones.
    bool seekAfter(const std::string& cursor);
    void seekLast(std::uint64_t n);

    // The next complete line or notice, or nullopt if the journal holds
    // none (yet), or the end mark was reached.
    std::optional<LogLine> next();
    // Waits for the journal to change (up to timeout). Throws
    // std::system_error if it cannot be waited on: going on would spin.
    void wait(std::chrono::milliseconds timeout);

    // The end mark was read: every line the build wrote is behind us.
    bool ended() const { return ended_ && ready_.empty(); }
    // The final state the end mark names ("" before the end).
    const std::string& finalState() const { return finalState_; }

    // Ends a log that has no end mark, once the build is known to have
    // ended and the journal was read to its end after that: returns a line
    // left without its end, if any, and a notice that the log may be
    // incomplete.
    std::vector<LogLine> endWithoutMark(const std::string& finalState);
    // Makes what journald stored since the last wait() visible.
    void refresh() { journal_.refresh(); }
    // The journal itself, for a caller that polls its descriptor
    // (forwarder/follow_hub.cpp).
    BuildJournal& journal() { return journal_; }

private:
    std::optional<LogLine> fromEntry();
    LogLine takePending();

    BuildJournal journal_;
    LogReadOptions options_;
    RawEntry raw_;
    std::deque<LogLine> ready_;       // read, not yet returned
    std::optional<LogLine> pending_;  // a line whose end journald has not stored yet
    std::uint64_t entries_ = 0;       // build entries read, for the lost-line count
    bool counting_ = true;            // false once resumed or started at the tail
    bool ended_ = false;
    std::string finalState_;
};

// Follows a build's log to its end: the one "end of log" decision.
class LogFollower {
public:
    // The build's final state once it has ended (its unit is gone, so its
    // end-of-build hook has run); nullopt while it runs. May throw: the log
    // is then followed until the end mark only, like `journalctl -f`.
    using FinalState = std::function<std::optional<std::string>()>;

    LogFollower(BuildLog& log, FinalState finalState)
        : log_(log), finalState_(std::move(finalState)) {}

    enum class Step { Lines, Quiet, Ended };
    // Appends up to max lines available now to out (Lines); else waits up
    // to `quiet` for more (Lines if some came); else asks whether the build
    // has ended (Quiet if not). Ended once the end mark was read, or the
    // build had ended and nothing more was there; out then holds the rest.
    Step step(std::vector<LogLine>& out, std::size_t max, std::chrono::milliseconds quiet);
    // The build's final state, once Ended.
    const std::string& finalState() const { return final_; }

private:
    std::size_t read(std::vector<LogLine>& out, std::size_t max);
    std::optional<std::string> askFinalState();

    BuildLog& log_;
    FinalState finalState_;
    bool canAsk_ = true;
    std::optional<std::string> over_;  // the build ended: read what is left, then end
    std::string final_;
};

// "Nov 26 02:40:08 host ident[pid]: text" as journalctl -o short prints an
// entry; a notice is printed alone, as journalctl prints "-- Boot ... --".
std::string formatShort(const LogLine& line);

// Ends the log of a build whose processes are all gone (the end-of-build
// hook, as root): has journald store what they wrote, counts the build's
// entries, writes the end mark naming finalState, and syncs again so that
// the mark is stored before the unit is seen to end. Returns the problems
// (a sentence each); never throws.
std::vector<std::string> markLogEnd(const std::string& buildId, const std::string& finalState);

// A line as every escaping reader (HTML, SSE) shows it: valid UTF-8, tab
// and ESC (colour codes) as they are; every other control byte (CR, LF,
// NUL, ...), DEL and each byte of invalid UTF-8 as \xNN. Never holds CR,
// LF or NUL, so it cannot break a framing.
std::string escapeLogText(std::string_view bytes);

// "1,234"
std::string withThousands(std::uint64_t n);

}  // namespace imagebuild
