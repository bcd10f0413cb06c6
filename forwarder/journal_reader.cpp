#include "forwarder/journal_reader.hpp"

#include <fmt/format.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace imagebuild::forwarder {

JournalReader::JournalReader(const std::string& buildId) {
    int r = sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0) {
        throw std::runtime_error(fmt::format("cannot open the journal: {}", std::strerror(-r)));
    }
    auto match = "IMAGEBUILD_ID=" + buildId;
    r = sd_journal_add_match(journal_, match.data(), match.size());
    if (r < 0) {
        sd_journal_close(journal_);
        throw std::runtime_error(fmt::format("journal match {}: {}", match, std::strerror(-r)));
    }
    sd_journal_seek_head(journal_);
}

JournalReader::~JournalReader() {
    sd_journal_close(journal_);
}

bool JournalReader::seekAfter(const std::string& cursor) {
    if (cursor.empty() || sd_journal_seek_cursor(journal_, cursor.c_str()) < 0) {
        sd_journal_seek_head(journal_);
        return false;
    }
    // seek_cursor lands on the entry (if it still exists) or next to it; step
    // onto it and skip it only if it is exactly that entry.
    if (sd_journal_next(journal_) > 0 && sd_journal_test_cursor(journal_, cursor.c_str()) <= 0) {
        sd_journal_previous(journal_);
    }
    return true;
}

std::optional<JournalEntry> JournalReader::next() {
    if (sd_journal_next(journal_) <= 0) {
        return std::nullopt;
    }
    JournalEntry entry;
    char* cursor = nullptr;
    if (sd_journal_get_cursor(journal_, &cursor) >= 0) {
        entry.cursor = cursor;
        std::free(cursor);
    }
    const void* data = nullptr;
    std::size_t length = 0;
    if (sd_journal_get_data(journal_, "MESSAGE", &data, &length) >= 0) {
        constexpr std::size_t prefix = sizeof("MESSAGE=") - 1;
        entry.message.assign(static_cast<const char*>(data) + prefix, length - prefix);
    }
    return entry;
}

void JournalReader::wait(std::chrono::milliseconds timeout) {
    sd_journal_wait(journal_, static_cast<std::uint64_t>(timeout.count()) * 1000);
}

}  // namespace imagebuild::forwarder
