#include "common/build_log.hpp"

#include <fmt/format.h>
#include <systemd/sd-journal.h>

#include <charconv>
#include <limits>
#include <system_error>

#include "common/journal_sync.hpp"

namespace imagebuild {

namespace {

std::uint64_t parseCount(const std::string& text) {
    std::uint64_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
}

LogLine notice(std::string text) {
    LogLine line;
    line.notice = true;
    line.text = "-- imagebuild: " + std::move(text) + " --";
    return line;
}

}  // namespace

BuildLog::BuildLog(const std::string& buildId, LogReadOptions options)
    : journal_(buildId), options_(options) {}

bool BuildLog::seekAfter(const std::string& cursor) {
    counting_ = false;
    pending_.reset();
    return journal_.seekAfter(cursor);
}

void BuildLog::seekLast(std::uint64_t n) {
    counting_ = false;
    pending_.reset();
    journal_.seekLast(n);
}

LogLine BuildLog::takePending() {
    LogLine line = std::move(*pending_);
    pending_.reset();
    return line;
}

// One entry read into raw_: "line-max" cut the line mid-way; "nul" was a NUL
// byte in it. Anything else ends the line: a newline (no _LINE_BREAK), the
// end of the stream ("eof"), and "pid-change": journald flushed a partial
// line because another process wrote, and what that one wrote (a newline,
// say) may not be in the journal, so joining could make a line nobody wrote.
std::optional<LogLine> BuildLog::fromEntry() {
    if (!raw_.buildLine) {
        if (!raw_.dropped.empty()) {
            return notice(
                fmt::format("journald suppressed {} lines of this build here (its rate "
                            "limit)",
                            withThousands(parseCount(raw_.dropped))));
        }
        return std::nullopt;
    }
    if (!raw_.logEnd.empty()) {
        ended_ = true;
        finalState_ = raw_.logEnd;
        if (pending_) {
            ready_.push_back(takePending());
        }
        auto expected = parseCount(raw_.logEntries);
        if (counting_ && expected > entries_) {
            ready_.push_back(notice(fmt::format(
                "{} lines of this build are no longer in the journal (rotated or vacuumed)",
                withThousands(expected - entries_))));
        }
        return std::nullopt;
    }
    ++entries_;
    if (!pending_) {
        pending_.emplace();
        pending_->realtimeUsec = raw_.realtimeUsec;
        pending_->hostname = std::move(raw_.hostname);
        pending_->identifier = std::move(raw_.identifier);
        pending_->pid = std::move(raw_.pid);
    }
    pending_->text += raw_.message;
    if (options_.cursor) {
        pending_->cursor = journal_.cursor();
    }
    if (raw_.lineBreak == "line-max") {
        return std::nullopt;
    }
    if (raw_.lineBreak == "nul") {
        pending_->text += '\0';
        return std::nullopt;
    }
    return takePending();
}

std::optional<LogLine> BuildLog::next() {
    while (ready_.empty() && !ended_ && journal_.nextRaw(raw_, options_.meta)) {
        if (auto line = fromEntry()) {
            return line;
        }
    }
    if (!ready_.empty()) {
        LogLine line = std::move(ready_.front());
        ready_.pop_front();
        return line;
    }
    return std::nullopt;
}

void BuildLog::wait(std::chrono::milliseconds timeout) {
    if (!journal_.wait(timeout)) {
        throw std::system_error(std::make_error_code(std::errc::io_error),
                                "cannot wait for the journal to change");
    }
}

std::vector<LogLine> BuildLog::endWithoutMark(const std::string& finalState) {
    std::vector<LogLine> rest;
    if (pending_) {
        rest.push_back(takePending());
    }
    rest.push_back(notice(
        "the build ended but its log has no end mark (its end-of-build hook did not run): lines "
        "may be missing"));
    ended_ = true;
    finalState_ = finalState;
    return rest;
}

std::size_t LogFollower::read(std::vector<LogLine>& out, std::size_t max) {
    std::size_t n = 0;
    while (n < max) {
        auto line = log_.next();
        if (!line) {
            break;
        }
        out.push_back(std::move(*line));
        ++n;
    }
    return n;
}

std::optional<std::string> LogFollower::askFinalState() {
    if (!canAsk_ || !finalState_) {
        return std::nullopt;
    }
    try {
        return finalState_();
    } catch (const std::exception&) {
        canAsk_ = false;  // nobody to ask: follow until the end mark
        return std::nullopt;
    }
}

LogFollower::Step LogFollower::step(std::vector<LogLine>& out, std::size_t max,
                                    std::chrono::milliseconds quiet) {
    auto ended = [this] {
        final_ = log_.finalState();
        return Step::Ended;
    };
    if (read(out, max) > 0) {
        return log_.ended() ? ended() : Step::Lines;
    }
    if (log_.ended()) {
        return ended();
    }
    if (over_) {
        // Everything stored before the build was seen to end has been read.
        for (auto& line : log_.endWithoutMark(*over_)) {
            out.push_back(std::move(line));
        }
        return ended();
    }
    log_.wait(quiet);
    if (read(out, max) > 0 || log_.ended()) {
        return log_.ended() ? ended() : Step::Lines;
    }
    over_ = askFinalState();
    if (!over_) {
        return Step::Quiet;
    }
    // The unit is gone, so its end-of-build hook has run: the end mark and
    // every line before it are stored (the hook synced the journal), though
    // maybe in a journal file this reader has not looked at yet.
    log_.refresh();
    return step(out, max, quiet);
}

std::string escapeLogText(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    auto hex = [&out](unsigned char c) {
        out += fmt::format("\\x{:02x}", c);
    };
    std::size_t i = 0;
    while (i < bytes.size()) {
        auto c = static_cast<unsigned char>(bytes[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != 0x1b) || c == 0x7f) {
                hex(c);
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        // A UTF-8 sequence: its length from the lead byte, its continuation
        // bytes 10xxxxxx, no overlong forms, no surrogates, at most U+10FFFF.
        std::size_t length = c >= 0xc2 && c <= 0xdf   ? 2
                             : c >= 0xe0 && c <= 0xef ? 3
                             : c >= 0xf0 && c <= 0xf4 ? 4
                                                      : 0;
        bool valid = length != 0 && i + length <= bytes.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            valid = (static_cast<unsigned char>(bytes[i + k]) & 0xc0) == 0x80;
        }
        if (valid && length >= 3) {
            auto second = static_cast<unsigned char>(bytes[i + 1]);
            valid = !(c == 0xe0 && second < 0xa0) && !(c == 0xed && second >= 0xa0) &&
                    !(c == 0xf0 && second < 0x90) && !(c == 0xf4 && second >= 0x90);
        }
        if (!valid) {
            hex(c);
            ++i;
            continue;
        }
        out.append(bytes.substr(i, length));
        i += length;
    }
    return out;
}

std::string withThousands(std::uint64_t n) {
    auto digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

std::string formatShort(const LogLine& line) {
    if (line.notice) {
        return line.text;
    }
    JournalEntry entry;
    entry.realtimeUsec = line.realtimeUsec;
    entry.hostname = line.hostname;
    entry.identifier = line.identifier;
    entry.pid = line.pid;
    entry.message = line.text;
    return formatShort(entry);
}

std::vector<std::string> markLogEnd(const std::string& buildId, const std::string& finalState) {
    std::vector<std::string> problems;
    if (auto error = syncJournal(); !error.empty()) {
        problems.push_back("cannot have journald store the build's log: " + error);
    }
    // The build's entries before the mark (an earlier mark, from a retried
    // end of build, is one of them).
    std::uint64_t entries = 0;
    try {
        entries = countBuildEntries(buildId);
    } catch (const std::exception& e) {
        problems.push_back(fmt::format("cannot count the build's journal entries: {}", e.what()));
    }
    int r = sd_journal_send(
        "MESSAGE=imagebuild: end of the log of build %s (%s): every line the build wrote was "
        "stored before this one",
        buildId.c_str(), finalState.c_str(), "IMAGEBUILD_ID=%s", buildId.c_str(),
        "IMAGEBUILD_LOG_END=%s", finalState.c_str(), "IMAGEBUILD_LOG_ENTRIES=%llu",
        static_cast<unsigned long long>(entries), "PRIORITY=6", nullptr);
    if (r < 0) {
        problems.push_back(fmt::format("cannot write the end mark of the build's log: {}",
                                       std::generic_category().message(-r)));
    }
    if (auto error = syncJournal(); !error.empty()) {
        problems.push_back("cannot have journald store the end mark: " + error);
    }
    return problems;
}

}  // namespace imagebuild
