#include "agent/build_registry.hpp"

#include <malloc.h>

#include <algorithm>

#include "common/build_id.hpp"

namespace imagebuild::agent {

void BuildRegistry::load(const StateStore::CorruptHandler& onCorrupt) {
    records_.clear();
    summaries_ = BuildSummaries();
    auto index = readIndex(indexPath(), summaries_);
    // The directories are the truth: a build is every directory with a
    // record; the index only spares reading the records. Walked in number
    // order beside the rows, which are in that order too.
    std::vector<std::pair<std::uint64_t, std::string>> ids;
    for (auto& id : store_.buildIds()) {
        auto number = BuildId::parse(id)->number;
        ids.emplace_back(number, std::move(id));
    }
    std::sort(ids.begin(), ids.end());
    std::vector<bool> keep(summaries_.size(), false);
    std::vector<BuildSummary> fromRecords;
    bool rewrite = !index.readable;
    std::size_t row = 0;
    for (const auto& [number, id] : ids) {
        while (row < summaries_.size() && summaries_.number(row) < number) {
            ++row;
        }
        if (row < summaries_.size() && summaries_.number(row) == number) {
            auto indexed = summaries_[row];
            if (indexed.id == id && indexed.finished()) {
                keep[row] = true;
                continue;
            }
        }
        try {
            auto record = store_.load(id);
            if (!record) {
                continue;  // a build dir whose record was never written
            }
            fromRecords.push_back(summaryOf(*record));
            if (record->finished()) {
                rewrite = true;  // ended without being indexed: indexed now
                store_.markDone(id);
            } else {
                records_.emplace(id, std::move(*record));
            }
        } catch (const std::exception& e) {
            onCorrupt(store_.buildDir(id) / "record.json", e.what());
        }
    }
    // Rows without a directory (removed builds) go; the builds read from
    // their records come in, nearly always at the end (the newest).
    summaries_.keepOnly(keep);
    summaries_.reserve(fromRecords.size());
    for (const auto& s : fromRecords) {
        summaries_.put(s.view());
    }
    summaries_.shrinkToFit();
    // Lines of removed builds and older lines of pinned ones: compacted
    // once they are as many as the builds.
    rewrite = rewrite || index.lines > 2 * summaries_.size() + 64;
    if (rewrite) {
        try {
            writeIndex(indexPath(), summaries_);
        } catch (const std::exception&) {
            // A cache: the next start reads the records again.
        }
    }
    // What was read to build the index is freed; give it back, so the
    // resident size is what the history keeps, not what reading it took.
    ids = {};
    fromRecords = {};
    keep = {};
    ::malloc_trim(0);
}

BuildRecord& BuildRegistry::create(BuildRecord record, const std::string& kickstart) {
    store_.create(record, kickstart);
    auto id = record.id;
    summaries_.put(summaryOf(record).view());
    return records_.insert_or_assign(id, std::move(record)).first->second;
}

void BuildRegistry::save(const BuildRecord& record, Sync sync) {
    store_.save(record, sync);
    if (!position(record.id)) {
        return;
    }
    auto row = summaryOf(record);
    summaries_.put(row.view());
    if (record.finished()) {
        try {
            appendIndexLine(indexPath(), row.view());
        } catch (const std::exception&) {
            // The record is saved; the next start indexes it from there.
        }
    }
}

void BuildRegistry::remove(const std::string& id) {
    auto row = position(id);
    if (!row) {
        return;
    }
    // The index keeps its line until it is compacted: load() drops lines
    // without a build directory.
    store_.remove(id);
    summaries_.erase(*row);
    records_.erase(id);
}

std::optional<std::size_t> BuildRegistry::position(const std::string& id) const {
    auto parsed = BuildId::parse(id);
    auto row = parsed ? summaries_.find(parsed->number) : std::nullopt;
    if (!row || summaries_[*row].id != id) {
        return std::nullopt;
    }
    return row;
}

std::optional<SummaryView> BuildRegistry::summary(const std::string& id) const {
    auto row = position(id);
    return row ? std::optional(summaries_[*row]) : std::nullopt;
}

BuildRecord* BuildRegistry::read(const std::string& id) const {
    if (auto it = records_.find(id); it != records_.end()) {
        return &it->second;
    }
    if (!position(id)) {
        return nullptr;
    }
    try {
        auto record = store_.load(id);
        if (!record) {
            return nullptr;
        }
        return &records_.emplace(id, std::move(*record)).first->second;
    } catch (const std::exception&) {
        return nullptr;  // unreadable now: as if removed
    }
}

BuildRecord* BuildRegistry::find(const std::string& id) {
    return read(id);
}

const BuildRecord* BuildRegistry::find(const std::string& id) const {
    return read(id);
}

BuildRecord* BuildRegistry::findByUnit(const std::string& unit) {
    const std::string prefix = "imagebuild-", suffix = ".service";
    if (unit.size() <= prefix.size() + suffix.size() || unit.rfind(prefix, 0) != 0 ||
        unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return nullptr;
    }
    return find(unit.substr(prefix.size(), unit.size() - prefix.size() - suffix.size()));
}

void BuildRegistry::release(const std::string& id) {
    auto it = records_.find(id);
    if (it != records_.end() && it->second.finished()) {
        records_.erase(it);
    }
}

std::vector<BuildRecord*> BuildRegistry::unfinished() {
    std::vector<BuildRecord*> out;
    for (auto& [id, record] : records_) {
        if (!record.finished()) {
            out.push_back(&record);
        }
    }
    std::sort(out.begin(), out.end(),
              [](const BuildRecord* a, const BuildRecord* b) { return a->number < b->number; });
    return out;
}

std::vector<SummaryView> BuildRegistry::list(const BuildListFilter& filter) const {
    bool liveOnly =
        !filter.states.empty() && std::none_of(filter.states.begin(), filter.states.end(),
                                               [](const auto& s) { return isFinalState(s); });
    // The rows looked at: every one, or those of the builds not over (all
    // in memory), in the same order.
    std::vector<std::size_t> live;
    if (liveOnly) {
        for (const auto& [id, record] : records_) {
            if (auto row = summaries_.find(record.number); row && !record.finished()) {
                live.push_back(*row);
            }
        }
        std::sort(live.begin(), live.end());
    }
    auto at = [&](std::size_t i) {
        return summaries_[liveOnly ? live[i] : i];
    };
    // Rows are in id-number order, so a page at a cursor starts there.
    RowOrder order{true, !liveOnly && summaries_.timesAscend()};
    auto probe = [&](std::size_t i) {
        auto r = at(i);
        return PageProbe{r.number, r.submittedAt, matches(filter, r)};
    };
    std::vector<SummaryView> rows;
    for (auto i : selectPage(filter, liveOnly ? live.size() : summaries_.size(), probe, order)) {
        rows.push_back(at(i));
    }
    return rows;
}

}  // namespace imagebuild::agent
