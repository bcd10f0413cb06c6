// The lines of one build from the local journal: entries matching
// IMAGEBUILD_ID=<id>, in order, each with its cursor. Owns the sd_journal.
#pragma once

#include <chrono>
#include <optional>
#include <string>

struct sd_journal;

namespace imagebuild::forwarder {

struct JournalEntry {
    std::string cursor;
    std::string message;
};

class JournalReader {
public:
    // Throws std::runtime_error if the journal cannot be opened.
    explicit JournalReader(const std::string& buildId);
    ~JournalReader();
    JournalReader(const JournalReader&) = delete;
    JournalReader& operator=(const JournalReader&) = delete;

    // Positions the reader just after the entry with this cursor, so that a
    // client resuming from it neither loses nor repeats a line. False if the
    // cursor is not valid (the reader then starts from the beginning).
    bool seekAfter(const std::string& cursor);
    // The next entry, or nullopt if there is none yet.
    std::optional<JournalEntry> next();
    // Waits up to `timeout` for the journal to change.
    void wait(std::chrono::milliseconds timeout);

private:
    sd_journal* journal_ = nullptr;
};

}  // namespace imagebuild::forwarder
