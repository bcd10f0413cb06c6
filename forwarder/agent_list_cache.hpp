// The agent's whole build list, kept between GET /v1/builds and dropped as
// soon as anything in it may have changed: a dashboard polling a host with
// 10,000 builds does not have all of them sent over the bus on every poll.
//
// How it knows: a bus connection of its own subscribes to every signal on
// the agent's objects (BuildQueued, BuildStarted, BuildFinished,
// PropertiesChanged, InterfacesAdded/Removed: every change to a row comes
// with one) and to NameOwnerChanged of the agent's name (an agent that
// starts re-reads its builds from disk; one that crashed may have left some
// unsaid). Before each use it makes one round trip to the agent on that
// connection and handles what arrived before the answer: the agent sends
// its signals in order with its replies and the bus daemon keeps that order
// to each receiver, so every change whose caller has had its reply (a
// Submit by busctl, a cancel, a cleanup) shows in the next list. The round
// trip is a ListBuilds that matches no build (a page of none: the agent
// walks no row for it): like the whole list it replaces, it starts an agent
// that exited on idle and keeps a polled one from exiting. The kept list
// answers any filter, pages included (common/list_builds.hpp pageOfRows).
// Between uses nothing reads the connection; rows unused for kMaxUnread are
// not trusted (the bus daemon queues unread signals only up to a limit).
#pragma once

#include <sdbus-c++/IConnection.h>
#include <sdbus-c++/IProxy.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include "common/build_info.hpp"

namespace imagebuild::forwarder {

class AgentListCache {
public:
    using Rows = std::vector<BuildListRow>;

    struct Lookup {
        std::shared_ptr<const Rows> rows;  // the kept rows, still true; else null
        std::uint64_t generation = 0;      // to store() rows read after this lookup
    };

    AgentListCache();
    ~AgentListCache();
    AgentListCache(const AgentListCache&) = delete;
    AgentListCache& operator=(const AgentListCache&) = delete;

    // Whether rows are kept at all (true or not): without, a lookup is no use
    // to a caller that would not keep what it reads.
    bool holdsRows();
    // Throws sdbus::Error when the agent cannot be asked (as ListBuilds would),
    // also when a try that ended while this call waited for it failed.
    Lookup lookup();
    // Rows read from the agent after lookup() gave `generation`; kept unless
    // a change was seen since.
    void store(std::uint64_t generation, std::shared_ptr<const Rows> rows);
    // This forwarder changed something (submitted, cancelled): forget the rows.
    void invalidate();

    static constexpr auto kMaxUnread = std::chrono::seconds(60);

private:
    std::uint64_t syncLocked();
    void connectLocked();
    void disconnectLocked();

    std::mutex mutex_;
    std::unique_ptr<sdbus::IConnection> watch_;
    std::unique_ptr<sdbus::IProxy> agent_;
    std::vector<sdbus::Slot> matches_;  // before watch_ in destruction
    std::uint64_t generation_ = 0;
    std::chrono::steady_clock::time_point lastSync_;
    std::shared_ptr<const Rows> rows_;
    std::uint64_t rowsGeneration_ = 0;
    std::atomic<std::uint64_t> failures_{0};  // syncs that failed, read before locking
    std::exception_ptr lastFailure_;
};

}  // namespace imagebuild::forwarder
