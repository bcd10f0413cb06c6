// Every build this host knows, at a cost that does not grow with history:
// a summary row of every build (from the index, build_index.hpp) in
// submission order, and full records only for the builds that are not over
// (read at start) and those asked for since (read on demand from their
// record.json). Knows nothing of D-Bus or systemd; the lifecycle decides
// what a record says, the registry keeps it. docs/design.md, "History".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/build_index.hpp"
#include "agent/build_record.hpp"
#include "agent/state_store.hpp"
#include "common/list_builds.hpp"

namespace imagebuild::agent {

class BuildRegistry {
public:
    explicit BuildRegistry(StateStore& store) : store_(store) {}
    BuildRegistry(const BuildRegistry&) = delete;
    BuildRegistry& operator=(const BuildRegistry&) = delete;

    // Reads the index, and the record of every build it lacks (builds not
    // over, and any that ended without being indexed: those are indexed
    // now). Replaces what is in memory. Corrupt records go to onCorrupt
    // and are skipped.
    void load(const StateStore::CorruptHandler& onCorrupt);

    // Persists a new build (kickstart, directories, record) and keeps it.
    // Throws whatever the store throws; nothing is kept then.
    BuildRecord& create(BuildRecord record, const std::string& kickstart);
    // Writes the record as it is now (atomically, the directory synced
    // unless asked otherwise; and its index line once it has ended).
    // Throws on I/O errors.
    void save(const BuildRecord& record, Sync sync = Sync::kFileAndDirectory);
    // The build is final: it no longer needs the agent at boot.
    void markDone(const std::string& id) { store_.markDone(id); }
    // Deletes a finished build from disk and memory. Throws
    // std::filesystem::filesystem_error; it is kept then.
    void remove(const std::string& id);

    // The full record, read from disk on first use; nullptr for an unknown
    // id or an unreadable record. References stay valid until release(id)
    // or remove(id).
    BuildRecord* find(const std::string& id);
    const BuildRecord* find(const std::string& id) const;
    // imagebuild-<id>.service -> its build; nullptr for any other unit.
    BuildRecord* findByUnit(const std::string& unit);
    // Drops a finished build's full record from memory (it stays on disk
    // and in the index); a no-op for builds not over.
    void release(const std::string& id);

    // One row per build, oldest first.
    const BuildSummaries& summaries() const { return summaries_; }
    // The row of one build; nullopt for an unknown id.
    std::optional<SummaryView> summary(const std::string& id) const;
    // The rows ListBuilds' filter asks for (its keys and its page,
    // common/list_builds.hpp), oldest first, valid until the registry next
    // changes. No record is read to list; a filter of states only a build
    // not over can be in (what `imagebuildctl list` asks) looks at those
    // builds alone, not the whole history.
    std::vector<SummaryView> list(const BuildListFilter& filter) const;
    // The records load() read because they were not over, oldest first.
    std::vector<BuildRecord*> unfinished();
    std::size_t size() const { return summaries_.size(); }
    // Full records in memory (for tests and benchmarks).
    std::size_t recordsInMemory() const { return records_.size(); }

    StateStore& store() { return store_; }
    const StateStore& store() const { return store_; }

private:
    // The position of the row of `id`; nullopt for an unknown id.
    std::optional<std::size_t> position(const std::string& id) const;
    BuildRecord* read(const std::string& id) const;
    std::filesystem::path indexPath() const { return store_.root() / "index"; }

    StateStore& store_;
    // Read on demand by const find() too: a cache, not state.
    mutable std::map<std::string, BuildRecord> records_;
    BuildSummaries summaries_;
};

}  // namespace imagebuild::agent
