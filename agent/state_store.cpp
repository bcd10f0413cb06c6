#include "agent/state_store.hpp"

#include <fmt/format.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "common/atomic_file.hpp"
#include "common/build_id.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild::agent {

namespace fs = std::filesystem;

StateStore::StateStore(fs::path root) : root_(std::move(root)) {
    fs::create_directories(root_ / "builds");
    fs::create_directories(root_ / "pending");
}

fs::path StateStore::buildDir(const std::string& id) const {
    // Ids come from BuildId: no '/', no "..". Checked again here because a
    // path built from a caller's string must never leave the state directory.
    if (!BuildId::parse(id)) {
        throw std::invalid_argument(fmt::format("not a build id: \"{}\"", id));
    }
    return root_ / "builds" / id;
}

std::uint64_t StateStore::allocateNumber() {
    std::uint64_t last = 0;
    if (auto text = readFile(root_ / "next-id")) {
        last = std::strtoull(text->c_str(), nullptr, 10);
    }
    // Never below a number already on disk, even if next-id was lost.
    if (!scanned_) {
        for (const auto& entry : fs::directory_iterator(root_ / "builds")) {
            if (auto id = BuildId::parse(entry.path().filename().string())) {
                highestOnDisk_ = std::max(highestOnDisk_, id->number);
            }
        }
        scanned_ = true;
    }
    last = std::max(last, highestOnDisk_);
    std::uint64_t next = last + 1;
    // Not synced: a number reaches a caller only once its build directory is
    // on disk (create() syncs it), and the scan above never goes below those.
    writeFileAtomic(root_ / "next-id", std::to_string(next) + "\n", 0644, Sync::kNone);
    return next;
}

void StateStore::create(const BuildRecord& record, const std::string& kickstart) {
    auto dir = buildDir(record.id);
    fs::create_directories(dir / "out");
    fs::create_directories(dir / "work");
    // Each file's content is synced, then each directory once: the build
    // is on disk before anyone hears of it, for a third of the syncs.
    writeFileAtomic(dir / "ks.cfg", kickstart, 0644, Sync::kFile);
    save(record, Sync::kFile);
    fsyncDirectory(dir);
    fsyncDirectory(root_ / "builds");
    // The marker only makes a boot start the agent early; losing it to a
    // power cut delays a queued build until the next call, it loses nothing.
    writeFileAtomic(root_ / "pending" / record.id, "", 0644, Sync::kNone);
}

void StateStore::save(const BuildRecord& record, Sync sync) {
    writeFileAtomic(buildDir(record.id) / "record.json", recordToJson(record).dump(2) + "\n", 0644,
                    sync);
}

void StateStore::markStarted(const std::string& id) {
    auto path = buildDir(id) / "started";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) {
        throw std::system_error(errno, std::generic_category(), "cannot create " + path.string());
    }
    fsyncDirectory(buildDir(id));
}

bool StateStore::wasStarted(const std::string& id) const {
    std::error_code ec;
    return fs::exists(buildDir(id) / "started", ec);
}

void StateStore::endAttempt(const std::string& id, std::uint32_t attempt) {
    auto dir = buildDir(id);
    std::error_code ec;
    for (const auto& [from, to] :
         {std::pair{std::string("outcome"), "outcome." + std::to_string(attempt)},
          std::pair{std::string("staging.json"), "staging." + std::to_string(attempt) + ".json"}}) {
        if (fs::exists(dir / from, ec)) {
            fs::rename(dir / from, dir / to);  // throws
        }
    }
    fs::remove(dir / "started");
    fsyncDirectory(dir);
}

void StateStore::markDone(const std::string& id) {
    std::error_code ec;
    fs::remove(root_ / "pending" / id, ec);
}

void StateStore::remove(const std::string& id) {
    auto dir = buildDir(id);
    fs::remove(dir / "record.json");
    fs::remove_all(dir);
    markDone(id);
}

std::vector<std::string> StateStore::buildIds() const {
    std::vector<std::string> ids;
    for (const auto& entry : fs::directory_iterator(root_ / "builds")) {
        auto name = entry.path().filename().string();
        if (BuildId::parse(name)) {
            ids.push_back(std::move(name));
        }
    }
    return ids;
}

std::optional<BuildRecord> StateStore::load(const std::string& id) const {
    auto text = readFile(buildDir(id) / "record.json");
    if (!text) {
        return std::nullopt;
    }
    auto record = recordFromJson(nlohmann::json::parse(*text));
    if (record.id != id) {
        throw std::invalid_argument("its id does not match its directory");
    }
    return record;
}

std::optional<UnitOutcome> StateStore::readOutcome(const std::string& id) const {
    auto text = readFile(buildDir(id) / "outcome");
    if (!text) {
        return std::nullopt;
    }
    return parseOutcome(*text);
}

std::string StateStore::readKickstart(const std::string& id) const {
    return readFile(kickstartPath(id)).value_or("");
}

}  // namespace imagebuild::agent
