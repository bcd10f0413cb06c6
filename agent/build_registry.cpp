#include "agent/build_registry.hpp"

#include <malloc.h>

#include <algorithm>

#include "common/build_id.hpp"

namespace imagebuild::agent {

namespace {

bool byNumber(const BuildSummary& a, const BuildSummary& b) {
    return a.number < b.number;
}

// The index as it is read: one row per number, the last line of each.
std::vector<BuildSummary> lastOfEach(std::vector<BuildSummary> rows) {
    // Appended as builds end, the lines are nearly always in order already:
    // a sort of rows this size would be most of a start's cost.
    if (!std::is_sorted(rows.begin(), rows.end(), byNumber)) {
        std::stable_sort(rows.begin(), rows.end(), byNumber);
    }
    std::vector<BuildSummary> out;
    out.reserve(rows.size());
    for (auto& row : rows) {
        if (!out.empty() && out.back().number == row.number) {
            out.back() = std::move(row);
        } else {
            out.push_back(std::move(row));
        }
    }
    return out;
}

}  // namespace

void BuildRegistry::load(const StateStore::CorruptHandler& onCorrupt) {
    records_.clear();
    summaries_.clear();
    auto index = readIndex(indexPath());
    auto lines = index.rows.size();
    auto indexed = lastOfEach(std::move(index.rows));
    // The directories are the truth: a build is every directory with a
    // record; the index only spares reading the records.
    // In number order, so the rows are too, without sorting them.
    std::vector<std::pair<std::uint64_t, std::string>> ids;
    for (auto& id : store_.buildIds()) {
        auto number = BuildId::parse(id)->number;
        ids.emplace_back(number, std::move(id));
    }
    std::sort(ids.begin(), ids.end());
    summaries_.reserve(ids.size());
    bool rewrite = !index.readable;
    for (const auto& [number, id] : ids) {
        auto it =
            std::lower_bound(indexed.begin(), indexed.end(), number,
                             [](const BuildSummary& s, std::uint64_t n) { return s.number < n; });
        if (it != indexed.end() && it->number == number && it->id == id && it->finished()) {
            summaries_.push_back(std::move(*it));
            continue;
        }
        try {
            auto record = store_.load(id);
            if (!record) {
                continue;  // a build dir whose record was never written
            }
            summaries_.push_back(summaryOf(*record));
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
    // Lines of removed builds and older lines of pinned ones: compacted
    // once they are as many as the builds.
    rewrite = rewrite || lines > 2 * summaries_.size() + 64;
    if (rewrite) {
        std::vector<BuildSummary> finished;
        for (const auto& s : summaries_) {
            if (s.finished()) {
                finished.push_back(s);
            }
        }
        try {
            writeIndex(indexPath(), finished);
        } catch (const std::exception&) {
            // A cache: the next start reads the records again.
        }
    }
    // What was read to build the index is freed; give it back, so the
    // resident size is what the history keeps, not what reading it took.
    indexed = {};
    ids = {};
    ::malloc_trim(0);
}

BuildRecord& BuildRegistry::create(BuildRecord record, const std::string& kickstart) {
    store_.create(record, kickstart);
    auto id = record.id;
    summaries_.push_back(summaryOf(record));
    if (summaries_.size() > 1 && !byNumber(summaries_[summaries_.size() - 2], summaries_.back())) {
        std::sort(summaries_.begin(), summaries_.end(), byNumber);
    }
    return records_.insert_or_assign(id, std::move(record)).first->second;
}

void BuildRegistry::save(const BuildRecord& record, Sync sync) {
    store_.save(record, sync);
    auto* row = summary(record.id);
    if (row == nullptr) {
        return;
    }
    *row = summaryOf(record);
    if (record.finished()) {
        try {
            appendIndexLine(indexPath(), *row);
        } catch (const std::exception&) {
            // The record is saved; the next start indexes it from there.
        }
    }
}

void BuildRegistry::remove(const std::string& id) {
    auto* row = summary(id);
    if (row == nullptr) {
        return;
    }
    // The index keeps its line until it is compacted: load() drops lines
    // without a build directory.
    store_.remove(id);
    summaries_.erase(summaries_.begin() + (row - summaries_.data()));
    records_.erase(id);
}

const BuildSummary* BuildRegistry::summary(const std::string& id) const {
    auto parsed = BuildId::parse(id);
    if (!parsed) {
        return nullptr;
    }
    auto it = std::lower_bound(summaries_.begin(), summaries_.end(), parsed->number,
                               [](const BuildSummary& s, std::uint64_t n) { return s.number < n; });
    return it != summaries_.end() && it->id == id ? &*it : nullptr;
}

BuildSummary* BuildRegistry::summary(const std::string& id) {
    return const_cast<BuildSummary*>(std::as_const(*this).summary(id));
}

BuildRecord* BuildRegistry::read(const std::string& id) const {
    if (auto it = records_.find(id); it != records_.end()) {
        return &it->second;
    }
    if (summary(id) == nullptr) {
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

}  // namespace imagebuild::agent
