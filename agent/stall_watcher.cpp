#include "agent/stall_watcher.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <string_view>

#include "agent/journal_log.hpp"
#include "common/build_journal.hpp"
#include "common/clock.hpp"

namespace imagebuild::agent {

namespace {

// The value of FIELD= in the current entry; empty if it has none.
std::string fieldOf(sd_journal* j, const char* field) {
    const void* data = nullptr;
    size_t length = 0;
    if (sd_journal_get_data(j, field, &data, &length) < 0) {
        return {};
    }
    std::string_view text(static_cast<const char*>(data), length);
    auto eq = text.find('=');
    return eq == std::string_view::npos ? std::string() : std::string(text.substr(eq + 1));
}

const ImageType* typeOf(const BuildLifecycle& lifecycle, const BuildRecord& record) {
    const auto& types = lifecycle.options().config.types;
    auto it = types.find(record.spec.type);
    return it == types.end() ? nullptr : &it->second;
}

}  // namespace

StallWatcher::StallWatcher(BuildLifecycle& lifecycle) : lifecycle_(lifecycle) {
    int r = sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0) {
        journal_ = nullptr;
        logWarning(fmt::format("cannot open the journal ({}): stalled builds are not detected",
                               std::strerror(-r)));
        return;
    }
    // The journal's inotify watches start now: no line is missed later.
    sd_journal_get_fd(journal_);
}

StallWatcher::~StallWatcher() {
    if (journal_ != nullptr) {
        sd_journal_close(journal_);
    }
}

int StallWatcher::fd() const {
    if (journal_ == nullptr || tracker_.ids().empty()) {
        return -1;
    }
    return sd_journal_get_fd(journal_);
}

short StallWatcher::events() const {
    int e = journal_ == nullptr ? 0 : sd_journal_get_events(journal_);
    return static_cast<short>(e < 0 ? 0 : e);
}

std::uint64_t StallWatcher::deadline() const {
    if (dirty_) {
        return monotonicUSec();  // at once
    }
    auto due = tracker_.nextDue();
    std::uint64_t deadline = UINT64_MAX;
    if (due) {
        auto now = realtimeUsec();
        deadline = monotonicUSec() + (*due > now ? *due - now : 0);
    }
    // The journal may ask to be looked at on a timer (files it cannot watch).
    std::uint64_t journalTimeout = UINT64_MAX;
    if (journal_ != nullptr && !tracker_.ids().empty() &&
        sd_journal_get_timeout(journal_, &journalTimeout) >= 0) {
        deadline = std::min(deadline, journalTimeout);
    }
    return deadline;
}

void StallWatcher::dispatch() {
    if (journal_ == nullptr) {
        return;
    }
    if (dirty_) {
        dirty_ = false;
        sync();
    }
    if (tracker_.ids().empty()) {
        return;
    }
    readNewLines();
    for (const auto& [id, since] : tracker_.expire(realtimeUsec())) {
        lifecycle_.markStalled(id, since);
    }
}

void StallWatcher::sync() {
    std::set<std::string> running;
    for (const auto* record : lifecycle_.registry().unfinished()) {
        const auto* type = typeOf(lifecycle_, *record);
        if (record->state != state::kRunning || type == nullptr || type->stallTimeoutSec == 0) {
            continue;
        }
        running.insert(record->id);
        if (!tracker_.watching(record->id)) {
            auto last = std::max(lastLineOf(*record), record->startedAt);
            tracker_.watch(record->id, last, type->stallTimeoutSec * 1'000'000,
                           record->stalledSince);
        }
    }
    for (const auto& id : tracker_.ids()) {
        if (!running.count(id)) {
            tracker_.unwatch(id);
        }
    }
    rematch();
}

// One group per build: its id AND its unit (lines of the build's own
// processes); groups ORed. Read again from the oldest last line: a line
// seen twice changes nothing (StallTracker::line).
void StallWatcher::rematch() {
    sd_journal_flush_matches(journal_);
    for (const auto& id : tracker_.ids()) {
        const auto* record = lifecycle_.registry().find(id);
        if (record == nullptr) {
            continue;
        }
        auto idMatch = "IMAGEBUILD_ID=" + id;
        auto unitMatch = "_SYSTEMD_UNIT=" + record->unit;
        sd_journal_add_match(journal_, idMatch.data(), idMatch.size());
        sd_journal_add_match(journal_, unitMatch.data(), unitMatch.size());
        sd_journal_add_disjunction(journal_);
    }
    if (auto oldest = tracker_.oldestLastLine()) {
        sd_journal_seek_realtime_usec(journal_, *oldest);
    } else {
        sd_journal_seek_tail(journal_);
    }
}

std::uint64_t StallWatcher::lastLineOf(const BuildRecord& record) {
    sd_journal_flush_matches(journal_);
    auto idMatch = "IMAGEBUILD_ID=" + record.id;
    auto unitMatch = "_SYSTEMD_UNIT=" + record.unit;
    sd_journal_add_match(journal_, idMatch.data(), idMatch.size());
    sd_journal_add_match(journal_, unitMatch.data(), unitMatch.size());
    std::uint64_t at = 0;
    if (sd_journal_seek_tail(journal_) >= 0 && sd_journal_previous(journal_) > 0) {
        sd_journal_get_realtime_usec(journal_, &at);
    }
    return at;
}

void StallWatcher::readNewLines() {
    sd_journal_process(journal_);
    int r;
    while ((r = sd_journal_next(journal_)) > 0) {
        auto id = fieldOf(journal_, "IMAGEBUILD_ID");
        // The end mark is the end-of-build step's, not the build's output.
        if (id.empty() || !fieldOf(journal_, kLogEndField).empty()) {
            continue;
        }
        std::uint64_t at = 0;
        if (sd_journal_get_realtime_usec(journal_, &at) >= 0 && tracker_.line(id, at)) {
            lifecycle_.markUnstalled(id);
        }
    }
    if (r < 0) {
        logWarning(fmt::format("reading the journal for stalled builds: {}", std::strerror(-r)));
    }
}

}  // namespace imagebuild::agent
