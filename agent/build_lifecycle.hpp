// The state machine of every build on this host, in one place:
//
//   Submit --> queued --(slot free)--> running --(outcome file)--> succeeded
//                |                        |                        failed
//                |                        |                        timed-out
//                |                        |                        cancelled
//                +--(cancel)--> cancelled +--(start refused / job failed /
//                                              unit gone without an outcome)--> failed
//                                         +--(no unit, no outcome at reconcile:
//                                              "interrupted: ...")--> failed
//                                         +--(failed, class infra, the type's
//                                              retry = infra:N not used up: the
//                                              next attempt, same id and unit
//                                              name, once the old unit is gone)
//                                              --> queued
//
// A build ends only on its outcome file, on a failed start job, or when
// systemd says its unit is gone and a fresh GetUnit confirms it: a
// daemon-reload or daemon-reexec removes every unit from the bus and brings
// it back, and changes nothing here. A reload also drops the unit's
// ExecStopPost= (systemd 252 cannot read ExecStopPostEx= back): an ended
// unit without an outcome file then gets one from systemd's own record of
// its end, and its end-of-build step runs as a unit of its own.
// It talks to systemd only through a UnitRunner and tells the world through
// LifecycleListeners (the D-Bus adaptor, notifications), so every transition
// can be driven and checked without a bus (tests/unit/agent/test_build_lifecycle.cpp).
// docs/design.md, "Build lifecycle", draws it with who writes what, where.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/build_registry.hpp"
#include "agent/unit_runner.hpp"
#include "agent/unit_settings.hpp"
#include "common/build_spec.hpp"
#include "common/config.hpp"

namespace imagebuild::agent {

struct LifecycleOptions {
    Config config;
    std::string hostname;
    HelperPaths helpers;
};

// What happened to builds, as it happens. Called from the lifecycle's own
// calls and from systemd's signals; a listener must not call back into the
// lifecycle.
class LifecycleListener {
public:
    // A record read from disk by reconcile(), before anything happens to it.
    virtual void buildLoaded(const BuildRecord& /*record*/) {}
    virtual void buildQueued(const BuildRecord& /*record*/) {}
    virtual void buildStarted(const BuildRecord& /*record*/) {}
    // outcomeRecorded: the build's unit ran its end-of-build step (which
    // posts the final webhook and mail itself).
    virtual void buildFinished(const BuildRecord& /*record*/, bool /*outcomeRecorded*/) {}
    virtual void buildRemoved(const std::string& /*id*/) {}
    // Its log has been silent for its type's stall_timeout (record.stalledSince).
    virtual void buildStalled(const BuildRecord& /*record*/) {}
    // Properties of the record changed (Build1 property names).
    virtual void buildChanged(const BuildRecord& /*record*/,
                              const std::vector<std::string>& /*properties*/) {}
    virtual void countsChanged() {}

protected:
    ~LifecycleListener() = default;
};

// A request the lifecycle refuses; the adaptors map kind to their errors.
class LifecycleError : public std::runtime_error {
public:
    // kNoSpace: a filesystem the agent writes is below [host] min_free, or a
    // record could not be written (the message names the filesystem and
    // its free space).
    enum class Kind { kNotFound, kAlreadyFinished, kQueueFull, kNoSpace, kInternal };
    LifecycleError(Kind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

class BuildLifecycle {
public:
    BuildLifecycle(LifecycleOptions options, BuildRegistry& registry, UnitRunner& units);
    BuildLifecycle(const BuildLifecycle&) = delete;
    BuildLifecycle& operator=(const BuildLifecycle&) = delete;

    void addListener(LifecycleListener& listener) { listeners_.push_back(&listener); }
    const LifecycleOptions& options() const { return options_; }
    const BuildRegistry& registry() const { return registry_; }
    BuildRegistry& registry() { return registry_; }

    // Loads every build from disk and brings it up to date with systemd and
    // the outcome files; then starts what fits. Before the loop runs.
    void reconcile();

    // Throws kQueueFull when a new build would not fit, kNoSpace when a
    // record is still unwritten or the state or output filesystem has less
    // free than [host] min_free: asked before the caller is authorized, and
    // again by submit().
    void checkAdmission();
    // Writes the records a failed write left only in memory (see
    // saveRecord()); cheap when there are none. Called on every bus call.
    void retryUnsavedRecords();
    // Records a new build (persisted before this returns) and queues it.
    // spec was validated by the caller (addedRepos() included). retryOf: the
    // build it re-runs. side: its side repository, moved to builds/<id>/repo.
    // The kickstart gets the build's repo lines (side_repo.hpp) at its top.
    // Throws LifecycleError.
    const BuildRecord& submit(BuildSpec spec, std::uint32_t submitterUid,
                              const std::string& retryOf = {}, SideRepo* side = nullptr);
    // Where side repositories are made before their build exists.
    std::filesystem::path uploadsDir() const { return registry_.store().root() / "uploads"; }
    // The spec build id ran with, kickstart included, to submit again by
    // callerUid: named submitter when one is given (the caller was
    // authorized to name one), else the old submitter's name when the
    // caller is the old submitter, else the caller's. Throws kNotFound,
    // kInternal (no kickstart).
    BuildSpec retrySpec(const std::string& id, std::uint32_t callerUid,
                        const std::optional<std::string>& submitter = std::nullopt) const;
    // submit(retrySpec(id, callerUid, submitter), callerUid, id): a new build
    // with its own id and output directory, and a copy of id's side
    // repository; id's record is not touched.
    const BuildRecord& retry(const std::string& id, std::uint32_t callerUid,
                             const std::optional<std::string>& submitter = std::nullopt);
    // Throws kNotFound.
    const BuildRecord& get(const std::string& id) const;
    // The kickstart build id runs (ks.cfg, with its repo lines). Throws
    // kInternal when it cannot be read.
    std::string kickstartOf(const std::string& id) const;
    // The build cancel(id) would act on, asked before its caller is
    // authorized. Throws kNotFound, kAlreadyFinished.
    const BuildRecord& cancellable(const std::string& id) const;
    // A queued build is cancelled at once; a running one is asked to stop
    // (its end comes from its outcome). done runs when systemd has taken the
    // stop. Throws kNotFound, kAlreadyFinished.
    void cancel(const std::string& id, std::function<void()> done);
    // The stall watcher's verdicts on a running build: no log line since
    // `since` (usec since the epoch) for the type's stall_timeout; with
    // stall_action = cancel the build is cancelled, its Reason
    // stallReason(now - since). And: a new line ended the stall.
    void markStalled(const std::string& id, std::uint64_t since);
    void markUnstalled(const std::string& id);
    // Throws kNotFound, kInternal (not persisted; unchanged).
    void setPinned(const std::string& id, bool pinned);
    // Removes what [retention] says may go; returns the removed ids.
    std::vector<std::string> cleanup();

    // systemd's signals, routed here by the UnitRunner's owner.
    void onJobRemoved(const std::string& unit, const std::string& result);
    void onUnitRemoved(const std::string& unit);
    void onUnitState(const std::string& unit, const std::string& activeState);

    std::size_t running() const { return running_.size(); }
    std::size_t queued() const { return queue_.size(); }
    // Nothing queued, nothing running, no call to systemd in flight, and no
    // record that exists only in memory: an agent that exited then would
    // take the record on disk for the truth.
    bool idle() const {
        return queue_.empty() && running_.empty() && pendingCalls_ == 0 && unsaved_.empty() &&
               awaitingUnitGone_.empty();
    }

private:
    BuildRecord& mustFind(const std::string& id);
    // Into queue_ behind every build of its priority or higher.
    void enqueue(const BuildRecord& record);
    void schedule();
    void start(BuildRecord& record);
    void reattach(BuildRecord& record);
    // The unit may have ended; see the .cpp for when an end is believed.
    void tryFinish(const std::string& id, bool unitGone);
    // The outcome file written from systemd's record of the unit's end,
    // when the unit's own recorder did not run; nullopt if none was seen.
    std::optional<UnitOutcome> recordEndFromSystemd(const BuildRecord& record);
    // The build's unit ended with no outcome file: systemd has started (or
    // is about to start) the imagebuild-end@ unit that records it from
    // $MONITOR_* and runs the end-of-build step; the build ends when it has.
    void waitForEndUnits(const BuildRecord& record);
    // At reconcile: an imagebuild-end@ unit of the build still running is
    // followed until it ends (true); else its end-of-build step is over or
    // never comes.
    bool followRunningEndUnit(const BuildRecord& record);
    // The final state a build takes once its end-of-build unit has run.
    struct PendingFinish {
        std::string state;
        int32_t exitStatus = -1;
        uint64_t finishedAt = 0;
        std::string reason;
    };
    // False when there is no end-of-build helper to run (tests, a bare install).
    bool startEndOfBuild(const BuildRecord& record, PendingFinish pending);
    // Its end-of-build unit ended (or is gone): the record takes what it staged.
    void endOfBuildEnded(const std::string& endUnit);
    void failToStart(BuildRecord& record, const std::string& reason);
    void finish(BuildRecord& record, const std::string& finalState, std::int32_t exitStatus,
                std::uint64_t finishedAt, const std::string& reason = {});
    void forget(const std::string& id);
    // The type's retry policy runs r again (its attempt ended as the record
    // says): the attempt is kept, r is queued as the next one once its old
    // unit is gone. False: r ends here.
    bool runsAgain(BuildRecord& r);
    void queueWhenUnitGone(const std::string& id);
    // A record write that may fail without losing the truth: a failure
    // keeps the record in memory (unsaved_, written again by
    // retryUnsavedRecords()), refuses new builds (storageProblem_) and is
    // logged once. False if it failed.
    bool saveRecord(const BuildRecord& record, Sync sync = Sync::kFileAndDirectory);
    void recordWriteFailed(const std::string& id, const std::exception& e);
    // "no space left on MOUNT" when the filesystem holding path is full;
    // empty otherwise.
    std::string fullDiskReason(const std::filesystem::path& path) const;
    void checkFreeSpace() const;

    template <typename F>
    void notify(F f) {
        for (auto* l : listeners_) {
            f(*l);
        }
    }

    LifecycleOptions options_;
    BuildRegistry& registry_;
    UnitRunner& units_;
    std::vector<LifecycleListener*> listeners_;

    // Queued ids in start order: higher priority first, equal ones in
    // submission order (enqueue()).
    std::deque<std::string> queue_;
    std::set<std::string> running_;                   // ids whose unit the agent follows
    std::set<std::string> started_;                   // running builds systemd has confirmed
    std::map<std::string, std::string> jobFailures_;  // id -> systemd's failed start job
    // End-of-build units the agent started (startEndOfBuild), followed until
    // they end: unit -> build id, and whether systemd said it started.
    struct EndOfBuild {
        std::string id;
        bool started = false;
        PendingFinish pending;
        // An imagebuild-end@ unit systemd started: once it ended, the
        // outcome it recorded decides (pending is unused).
        bool systemdStarted = false;
    };
    std::map<std::string, EndOfBuild> endUnits_;
    std::set<std::string> endingIds_;     // builds that end when their end unit has
    std::set<std::string> endUnitsDone_;  // builds whose imagebuild-end@ unit has ended
    unsigned pendingCalls_ = 0;
    std::set<std::string> unsaved_;  // ids whose record on disk is behind
    // Builds queued for their next attempt, waiting for systemd to collect
    // the unit of the last one (the next has the same name).
    std::set<std::string> awaitingUnitGone_;
    std::string storageProblem_;       // why records cannot be written; empty: they can
    std::uint64_t hostStartedAt_ = 0;  // asked once, by reconcile()
};

}  // namespace imagebuild::agent
