#include "forwarder/agent_list_cache.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <fmt/format.h>

#include "common/dbus_names.hpp"
#include "forwarder/agent_bus.hpp"

namespace imagebuild::forwarder {

namespace {

// No build has this submitter: uid (uid_t)-1 is no one's.
constexpr std::uint32_t kNoSubmitter = UINT32_MAX;

}  // namespace

AgentListCache::AgentListCache() = default;

AgentListCache::~AgentListCache() {
    std::lock_guard lock(mutex_);
    disconnectLocked();
}

void AgentListCache::connectLocked() {
    watch_ = connectForAgentCalls();
    auto changed = [this](sdbus::Message&) {
        ++generation_;
    };  // runs in syncLocked
    // Matched by path, not sender: sd-bus compares a sender rule with the
    // unique name only. Another process's signals there only cost a refetch.
    matches_.push_back(watch_->addMatch(
        fmt::format("type='signal',path_namespace='{}'", dbus_names::kManagerPath), changed));
    matches_.push_back(watch_->addMatch(agentNameOwnerChangedMatch(), changed));
    agent_ = sdbus::createProxy(*watch_, dbus_names::kBusName, dbus_names::kManagerPath);
    ++generation_;  // what changed before the matches were in place is unknown
}

void AgentListCache::disconnectLocked() {
    agent_.reset();
    matches_.clear();
    watch_.reset();
    rows_.reset();
    ++generation_;
}

// The current generation, with every signal the agent sent before it
// answered counted. Throws sdbus::Error, dropping the connection.
std::uint64_t AgentListCache::syncLocked() {
    auto now = std::chrono::steady_clock::now();
    try {
        if (!watch_) {
            connectLocked();
        } else if (now - lastSync_ > kMaxUnread) {
            ++generation_;
        }
        auto call = agent_->createMethodCall(dbus_names::kManagerInterface, "ListBuilds");
        call << std::map<std::string, sdbus::Variant>{
            {"submitter_uid", sdbus::Variant(kNoSubmitter)},
            {"limit", sdbus::Variant(std::uint32_t{0})}};
        agent_->callMethod(call);
        while (watch_->processPendingRequest()) {
        }
    } catch (const sdbus::Error&) {
        disconnectLocked();
        lastFailure_ = std::current_exception();
        ++failures_;
        throw;
    }
    lastSync_ = now;
    return generation_;
}

bool AgentListCache::holdsRows() {
    std::lock_guard lock(mutex_);
    return rows_ != nullptr;
}

AgentListCache::Lookup AgentListCache::lookup() {
    auto failuresBefore = failures_.load();
    std::lock_guard lock(mutex_);
    // A sync that failed while this request waited for the lock (an agent
    // that did not answer within the call timeout) is its answer too: each
    // waiter trying again in turn would make the k-th wait k timeouts.
    if (failures_.load() != failuresBefore && lastFailure_) {
        std::rethrow_exception(lastFailure_);
    }
    Lookup found;
    found.generation = syncLocked();
    if (rows_ && rowsGeneration_ == found.generation) {
        found.rows = rows_;
    }
    return found;
}

void AgentListCache::store(std::uint64_t generation, std::shared_ptr<const Rows> rows) {
    std::lock_guard lock(mutex_);
    if (generation == generation_) {
        rows_ = std::move(rows);
        rowsGeneration_ = generation;
    }
}

void AgentListCache::invalidate() {
    std::lock_guard lock(mutex_);
    ++generation_;
    rows_.reset();
}

}  // namespace imagebuild::forwarder
