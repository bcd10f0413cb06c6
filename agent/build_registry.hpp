// Every build this host knows, in memory and on disk: the records (loaded
// from the StateStore, saved through it), in submission order, found by id
// or by unit name. Knows nothing of D-Bus or systemd; the lifecycle decides
// what a record says, the registry keeps it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/build_record.hpp"
#include "agent/state_store.hpp"

namespace imagebuild::agent {

class BuildRegistry {
public:
    explicit BuildRegistry(StateStore& store) : store_(store) {}
    BuildRegistry(const BuildRegistry&) = delete;
    BuildRegistry& operator=(const BuildRegistry&) = delete;

    // Reads every record on disk (replacing what is in memory); corrupt ones
    // go to onCorrupt and are skipped.
    void load(const StateStore::CorruptHandler& onCorrupt);

    // Persists a new build (kickstart, directories, record) and keeps it.
    // Throws whatever the store throws; nothing is kept then.
    BuildRecord& create(BuildRecord record, const std::string& kickstart);
    // Writes the record as it is now (atomically, the directory synced
    // unless asked otherwise). Throws on I/O errors.
    void save(const BuildRecord& record, Sync sync = Sync::kFileAndDirectory) {
        store_.save(record, sync);
    }
    // The build is final: it no longer needs the agent at boot.
    void markDone(const std::string& id) { store_.markDone(id); }
    // Deletes a finished build from disk and memory. Throws
    // std::filesystem::filesystem_error; it is kept then.
    void remove(const std::string& id);

    BuildRecord* find(const std::string& id);
    const BuildRecord* find(const std::string& id) const;
    // imagebuild-<id>.service -> its build; nullptr for any other unit.
    BuildRecord* findByUnit(const std::string& unit);

    // Oldest first. Pointers stay valid until that build is removed.
    const std::vector<BuildRecord*>& all() const { return order_; }
    std::size_t size() const { return order_.size(); }

    StateStore& store() { return store_; }
    const StateStore& store() const { return store_; }

private:
    StateStore& store_;
    std::map<std::string, BuildRecord> records_;
    std::vector<BuildRecord*> order_;
};

}  // namespace imagebuild::agent
