#include "agent/build_lifecycle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "agent/build_outcome.hpp"
#include "agent/disk_space.hpp"
#include "agent/journal_log.hpp"
#include "agent/retention.hpp"
#include "agent/staging.hpp"
#include "agent/stall_tracker.hpp"
#include "common/atomic_file.hpp"
#include "common/build_id.hpp"
#include "common/clock.hpp"

namespace imagebuild::agent {

namespace fs = std::filesystem;
using Kind = LifecycleError::Kind;

namespace {

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    for (size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

// Below this much free, a filesystem is full for any purpose of ours: a
// record, an outcome file, a build's next write.
constexpr std::uint64_t kFullBelow = 1 << 20;

// The errno behind a failed write, if it says one.
std::error_code errorCodeOf(const std::exception& e) {
    if (const auto* system = dynamic_cast<const std::system_error*>(&e)) {
        return system->code();
    }
    return {};
}

std::string joinReasons(const std::string& first, const std::string& second) {
    if (first.empty() || second.empty()) {
        return first + second;
    }
    return first + "; " + second;
}

}  // namespace

BuildLifecycle::BuildLifecycle(LifecycleOptions options, BuildRegistry& registry, UnitRunner& units)
    : options_(std::move(options)), registry_(registry), units_(units) {}

BuildRecord& BuildLifecycle::mustFind(const std::string& id) {
    auto* record = registry_.find(id);
    if (record == nullptr) {
        throw LifecycleError(Kind::kNotFound, fmt::format("no build \"{}\" on {}",
                                                          id.substr(0, 100), options_.hostname));
    }
    return *record;
}

const BuildRecord& BuildLifecycle::get(const std::string& id) const {
    const auto* record = registry_.find(id);
    if (record == nullptr) {
        throw LifecycleError(Kind::kNotFound, fmt::format("no build \"{}\" on {}",
                                                          id.substr(0, 100), options_.hostname));
    }
    return *record;
}

// --- Submit -------------------------------------------------------------------

void BuildLifecycle::checkAdmission() {
    const auto& h = options_.config.host;
    if (running_.size() + queue_.size() >= static_cast<size_t>(h.maxParallel) + h.queueMax) {
        throw LifecycleError(
            Kind::kQueueFull,
            fmt::format("{} builds are queued already (queue_max); try later", queue_.size()));
    }
    retryUnsavedRecords();
    if (!storageProblem_.empty()) {
        throw LifecycleError(Kind::kNoSpace, storageProblem_);
    }
    checkFreeSpace();
}

// [host] min_free, on the filesystem of the builds' output (builds/) and on
// the state directory's, if that is another one.
void BuildLifecycle::checkFreeSpace() const {
    auto minFree = options_.config.host.minFreeBytes;
    if (minFree == 0) {
        return;
    }
    const auto& root = registry_.store().root();
    std::optional<std::uint64_t> checked;
    for (const auto& path : {root / "builds", root}) {
        auto space = diskSpaceOf(path);
        if (!space || checked == space->device) {
            continue;
        }
        checked = space->device;
        if (space->freeBytes < minFree) {
            throw LifecycleError(
                Kind::kNoSpace,
                fmt::format("not enough free space on {} (holding {}): {} free, {} needed "
                            "([host] min_free); free some space or run imagebuildctl cleanup",
                            space->mountPoint.string(), path.string(), formatSize(space->freeBytes),
                            formatSize(minFree)));
        }
    }
}

// --- Writing records ----------------------------------------------------------

bool BuildLifecycle::saveRecord(const BuildRecord& record, Sync sync) {
    try {
        registry_.save(record, sync);
    } catch (const std::exception& e) {
        recordWriteFailed(record.id, e);
        return false;
    }
    unsaved_.erase(record.id);
    return true;
}

void BuildLifecycle::recordWriteFailed(const std::string& id, const std::exception& e) {
    unsaved_.insert(id);
    if (!storageProblem_.empty()) {
        return;  // said once, not at every write
    }
    auto dir = registry_.store().buildDir(id);
    auto space = diskSpaceOf(dir);
    storageProblem_ = space
                          ? fmt::format(
                                "cannot write build records on {} ({} free): {}; new builds are "
                                "refused until they can be written",
                                space->mountPoint.string(), formatSize(space->freeBytes), e.what())
                          : fmt::format(
                                "cannot write build records: {}; new builds are refused until "
                                "they can be written",
                                e.what());
    logEvent(LOG_ERR, message_id::kStateWriteFailed, id, storageProblem_);
}

void BuildLifecycle::retryUnsavedRecords() {
    if (unsaved_.empty()) {
        return;
    }
    for (const auto& id : std::set<std::string>(unsaved_)) {
        const auto* record = registry_.find(id);
        if (record == nullptr) {
            unsaved_.erase(id);
        } else if (!saveRecord(*record)) {
            return;
        }
    }
    logInfo("build records can be written again; new builds are accepted");
    storageProblem_.clear();
}

std::string BuildLifecycle::fullDiskReason(const fs::path& path) const {
    auto space = diskSpaceOf(path);
    if (!space || space->freeBytes >= kFullBelow) {
        return {};
    }
    return fmt::format("no space left on {}", space->mountPoint.string());
}

const BuildRecord& BuildLifecycle::submit(BuildSpec spec, std::uint32_t submitterUid,
                                          const std::string& retryOf, SideRepo* side) {
    checkAdmission();
    BuildRecord* created = nullptr;
    std::filesystem::path sideRepo;
    try {
        BuildRecord r;
        r.number = registry_.store().allocateNumber();
        r.id = BuildId{options_.hostname, r.number}.str();
        r.unit = unitNameOf(r.id);
        r.submitterUid = submitterUid;
        r.submitter = spec.submitter ? *spec.submitter : userNameOf(submitterUid);
        r.submittedAt = realtimeUsec();
        r.retryOf = retryOf;
        auto timeoutSec = spec.timeoutSec ? spec.timeoutSec : options_.config.host.timeoutSec;
        r.timeoutUSec = timeoutSec * 1'000'000;
        r.monitorUrl = replaceAll(replaceAll(options_.config.host.monitorUrl, "{id}", r.id),
                                  "{host}", options_.hostname);
        std::string kickstart = std::move(spec.kickstart);
        spec.kickstart.clear();
        spec.rpms.clear();
        if (side != nullptr) {
            sideRepo = registry_.store().buildDir(r.id) / "repo";
            std::filesystem::create_directories(sideRepo.parent_path());
            side->moveTo(sideRepo);
            r.sidePackages = side->packages();
        }
        // ks.cfg is the kickstart the build runs: with its repo lines.
        kickstart = withAddedRepos(
            kickstart, addedRepos(spec, options_.config.repositories, sideRepo.string()));
        r.spec = std::move(spec);
        created = &registry_.create(std::move(r), kickstart);
    } catch (const std::exception& e) {
        if (!sideRepo.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(sideRepo.parent_path(), ec);
        }
        logError(fmt::format("cannot record a new build: {}", e.what()));
        if (isNoSpace(errorCodeOf(e))) {
            auto space = diskSpaceOf(registry_.store().root() / "builds");
            throw LifecycleError(
                Kind::kNoSpace,
                fmt::format("cannot record the build on {} ({} free): {}",
                            space ? space->mountPoint.string() : registry_.store().root().string(),
                            formatSize(space ? space->freeBytes : 0), e.what()));
        }
        throw LifecycleError(Kind::kInternal, fmt::format("cannot record the build: {}", e.what()));
    }
    const auto& r = *created;
    enqueue(r);
    logEvent(
        LOG_INFO, message_id::kBuildQueued, r.id,
        fmt::format("build {} queued ({} {} {}, uid {}, submitter {}{}{})", r.id, r.spec.type,
                    r.spec.arch, r.spec.release, r.submitterUid, r.submitter,
                    r.retryOf.empty() ? "" : ", retry of " + r.retryOf,
                    r.spec.priority == 0 ? "" : fmt::format(", priority {}", r.spec.priority)));
    notify([&](LifecycleListener& l) { l.buildQueued(r); });
    schedule();
    return r;
}

std::string BuildLifecycle::kickstartOf(const std::string& id) const {
    try {
        return registry_.store().readKickstart(id);
    } catch (const std::exception& e) {
        throw LifecycleError(Kind::kInternal,
                             fmt::format("cannot read the kickstart of {}: {}", id, e.what()));
    }
}

// A retry is a new submission of the old spec: it never reuses the old
// build's id, unit or directories, so the old record and output stay as
// they are (an interrupted build's partial output included).
BuildSpec BuildLifecycle::retrySpec(const std::string& id, std::uint32_t callerUid,
                                    const std::optional<std::string>& submitter) const {
    const auto& old = get(id);
    BuildSpec spec = old.spec;
    spec.kickstart = kickstartOf(id);
    if (spec.kickstart.empty()) {
        throw LifecycleError(Kind::kInternal,
                             fmt::format("build {} has no kickstart left to run again", id));
    }
    spec.submitter.reset();
    if (submitter) {
        spec.submitter = submitter;
    } else if (callerUid == old.submitterUid) {
        spec.submitter = old.submitter;
    }
    return spec;
}

const BuildRecord& BuildLifecycle::retry(const std::string& id, std::uint32_t callerUid,
                                         const std::optional<std::string>& submitter) {
    auto spec = retrySpec(id, callerUid, submitter);
    const auto& old = get(id);
    if (old.sidePackages.empty()) {
        return submit(std::move(spec), callerUid, id);
    }
    std::optional<SideRepo> side;
    try {
        side.emplace(SideRepo::copyOf(registry_.store().buildDir(id) / "repo", old.sidePackages,
                                      uploadsDir()));
    } catch (const std::exception& e) {
        throw LifecycleError(
            Kind::kInternal,
            fmt::format("cannot copy the side repository of {}: {}", id, e.what()));
    }
    return submit(std::move(spec), callerUid, id, &*side);
}

// --- Running builds -------------------------------------------------------------

void BuildLifecycle::enqueue(const BuildRecord& record) {
    auto priority = record.spec.priority;
    auto behind = std::find_if(queue_.begin(), queue_.end(), [&](const std::string& id) {
        const auto* queued = registry_.find(id);
        return queued != nullptr && queued->spec.priority < priority;
    });
    queue_.insert(behind, record.id);
}

void BuildLifecycle::schedule() {
    while (running_.size() < options_.config.host.maxParallel && !queue_.empty()) {
        auto id = queue_.front();
        queue_.pop_front();
        if (auto* record = registry_.find(id)) {
            start(*record);
        }
    }
    notify([](LifecycleListener& l) { l.countsChanged(); });
}

void BuildLifecycle::start(BuildRecord& r) {
    auto id = r.id;
    UnitSettings settings;
    try {
        auto type = options_.config.types.find(r.spec.type);
        if (type == options_.config.types.end()) {
            throw std::runtime_error("image type " + r.spec.type + " is no longer configured");
        }
        settings =
            unitSettingsFor(r, type->second, options_.config, registry_.store(), options_.helpers);
    } catch (const std::exception& e) {
        running_.insert(id);
        failToStart(r, e.what());
        return;
    }
    // Marked before systemd hears of the unit, in an empty file (it needs
    // no free block): a record left "queued" by a failed write is then
    // never taken for a build that never ran, and never run twice.
    try {
        registry_.store().markStarted(id);
    } catch (const std::exception& e) {
        running_.insert(id);
        failToStart(r, joinReasons(fullDiskReason(registry_.store().buildDir(id)),
                                   fmt::format("cannot record its start: {}", e.what())));
        return;
    }
    r.state = state::kRunning;
    r.startedAt = realtimeUsec();
    running_.insert(id);
    if (r.attempt > 1) {
        // An outcome (or staging) the last attempt's OnFailure= unit wrote
        // after the agent kept that attempt's: this attempt has not run yet.
        std::error_code ec;
        fs::remove(registry_.store().buildDir(id) / "outcome", ec);
        fs::remove(registry_.store().buildDir(id) / "staging.json", ec);
        const auto& last = r.attempts.back();
        logAttemptStart(id, r.attempt,
                        fmt::format("imagebuild: ---- attempt {} of build {} (attempt {}: {}, {}: "
                                    "{}) ----",
                                    r.attempt, id, last.attempt, last.state, last.failureClass,
                                    last.reason.empty() ? "see its log above" : last.reason));
    }
    // Follow the unit before it exists, so no change can be missed.
    units_.follow(r.unit);
    ++pendingCalls_;
    units_.start(settings, [this, id](const std::string& error) {
        --pendingCalls_;
        auto* record = registry_.find(id);
        if (!error.empty() && record != nullptr && running_.count(id)) {
            failToStart(*record,
                        fmt::format("systemd refused to start {}: {}", unitNameOf(id), error));
        }
    });
    // Recorded while systemd starts the unit (the call leaves when the loop
    // next flushes the bus): a record still "queued" has never been sent
    // to systemd, unless a power cut lost this write, and reconcile() then
    // finds its unit and follows it.
    saveRecord(r, Sync::kFile);
    notify([&](LifecycleListener& l) {
        l.buildChanged(r, {"State", "StartedAt"});
        l.buildStarted(r);
    });
    logEvent(LOG_INFO, message_id::kBuildStarted, id,
             fmt::format("build {} started as {}", id, r.unit));
}

void BuildLifecycle::onJobRemoved(const std::string& unit, const std::string& result) {
    if (endUnits_.count(unit)) {
        // Its start job failed (or it ran: a oneshot's job ends with it).
        if (result != "done") {
            endOfBuildEnded(unit);
        }
        return;
    }
    auto* record = registry_.findByUnit(unit);
    if (record == nullptr || !running_.count(record->id)) {
        return;
    }
    auto id = record->id;
    started_.insert(id);
    if (result != "done") {
        // Kept as the reason in case the unit leaves no outcome (it never
        // ran); a recorded outcome says more and wins.
        jobFailures_[id] =
            fmt::format("systemd's start job for {} ended with result '{}'; see journalctl -u {}",
                        unit, result, unit);
        logEvent(LOG_WARNING, "", id,
                 fmt::format("job for {} ended with result '{}'", unit, result));
        tryFinish(id, false);
    }
}

// systemd sends UnitRemoved for every unit during daemon-reload and
// daemon-reexec, and the unit comes straight back: the signal alone proves
// nothing. A fresh GetUnit (answered after the reload is over) must say the
// unit is gone.
void BuildLifecycle::onUnitRemoved(const std::string& unit) {
    if (endUnits_.count(unit)) {
        ++pendingCalls_;
        units_.checkLoaded(unit, [this, unit](UnitRunner::Presence presence) {
            --pendingCalls_;
            if (presence == UnitRunner::Presence::kGone) {
                endOfBuildEnded(unit);
            }
        });
        return;
    }
    auto* record = registry_.findByUnit(unit);
    if (record != nullptr && awaitingUnitGone_.count(record->id)) {
        queueWhenUnitGone(record->id);
        return;
    }
    if (record == nullptr || !running_.count(record->id)) {
        return;
    }
    // Not even an outcome on disk settles it: a reload during the unit's
    // stop-post steps removes it while its end-of-build step still stages.
    auto id = record->id;
    ++pendingCalls_;
    units_.checkLoaded(unit, [this, id](UnitRunner::Presence presence) {
        --pendingCalls_;
        if (presence == UnitRunner::Presence::kGone) {
            tryFinish(id, true);
        }
    });
}

void BuildLifecycle::onUnitState(const std::string& unit, const std::string& activeState) {
    if (auto end = endUnits_.find(unit); end != endUnits_.end()) {
        // Inactive before it starts too: only an end after a start counts.
        if (activeState != "inactive" && activeState != "failed") {
            end->second.started = true;
        } else if (end->second.started) {
            endOfBuildEnded(unit);
        }
        return;
    }
    auto* record = registry_.findByUnit(unit);
    if (record == nullptr) {
        return;
    }
    if (activeState == "inactive" || activeState == "failed") {
        tryFinish(record->id, false);
    } else {
        started_.insert(record->id);
    }
}

// The unit may have ended. Its outcome file says how; without one, the end
// is only believed once systemd has dropped the unit (or it had started and
// is inactive again), because a fresh unit is "inactive" before it starts.
void BuildLifecycle::tryFinish(const std::string& id, bool unitGone) {
    auto* record = registry_.find(id);
    if (record == nullptr || !running_.count(id) || endingIds_.count(id)) {
        return;  // unknown, over, or finished when its end-of-build unit is
    }
    auto& r = *record;
    bool ended = unitGone || started_.count(id) != 0;
    auto outcome = registry_.store().readOutcome(id);
    bool fromSystemd = false;
    // Only a unit whose main process ran and ended (systemd said so) starts
    // its OnSuccess=/OnFailure= unit: one stopped before it started (a
    // cancel while its start job ran) never does.
    if (!outcome && ended && options_.helpers.endTemplates && !endUnitsDone_.count(id) &&
        units_.endOf(r.unit)) {
        waitForEndUnits(r);
        return;
    }
    if (!outcome && ended) {
        outcome = recordEndFromSystemd(r);
        fromSystemd = outcome.has_value();
    }
    if (outcome) {
        auto final = finalStateOf(*outcome, r.cancelRequested);
        // systemd could not set up or execute the program (status
        // 203/EXEC and the like; its start job failed): say so next to the
        // status, since the build's own log is empty.
        std::string reason;
        if (final.state == state::kFailed) {
            if (const char* name = systemdExitStatusName(final.exitStatus)) {
                reason = fmt::format(
                    "status {}/{}: systemd could not start the build's program; see "
                    "journalctl -u {}",
                    final.exitStatus, name, r.unit);
            } else if (auto job = jobFailures_.find(id); job != jobFailures_.end()) {
                reason = job->second;
            }
        }
        if (!reason.empty()) {
            logEvent(LOG_ERR, message_id::kBuildStartFailed, id,
                     fmt::format("build {} cannot start: {}", id, reason));
        }
        auto finishedAt = outcome->finishedAt ? outcome->finishedAt : realtimeUsec();
        // The unit's own end-of-build step went with the recorder: the build
        // ends once the agent's has staged it and marked its log's end, as it
        // would have ended after the unit's.
        if (fromSystemd &&
            startEndOfBuild(r, {final.state, final.exitStatus, finishedAt, reason})) {
            return;
        }
        finish(r, final.state, final.exitStatus, finishedAt, reason);
    } else if (ended) {
        bool jobFailed = jobFailures_.count(id) != 0;
        auto reason = jobFailed ? jobFailures_[id]
                                : fmt::format("{} ended without recording an outcome", r.unit);
        logEvent(LOG_WARNING, jobFailed ? message_id::kBuildStartFailed : "", id,
                 fmt::format("build {} {}: {}", id, jobFailed ? "cannot start" : "ended", reason));
        bool cancelled = r.cancelRequested;
        finish(r, cancelled ? state::kCancelled : state::kFailed, -1, realtimeUsec(),
               cancelled ? std::string() : reason);
    }
}

// The unit ended without running its ExecStopPost= recorder (a daemon-reload
// dropped it), but the agent saw systemd record the end: written where and
// as the recorder would have, so the end-of-build step and a later agent
// read the same outcome.
std::optional<UnitOutcome> BuildLifecycle::recordEndFromSystemd(const BuildRecord& r) {
    auto end = units_.endOf(r.unit);
    if (!end) {
        return std::nullopt;
    }
    end->finishedAt = realtimeUsec();
    logEvent(LOG_WARNING, "", r.id,
             fmt::format("{} ended ({} {} {}) without running its outcome recorder; "
                         "recording the end systemd reported",
                         r.unit, end->serviceResult, end->exitCode, end->exitStatus));
    try {
        writeFileAtomic(registry_.store().buildDir(r.id) / "outcome", formatOutcome(*end));
    } catch (const std::exception& e) {
        logError(fmt::format("cannot record the outcome of build {}: {}", r.id, e.what()));
    }
    return end;
}

// A daemon-reload dropped the unit's ExecStopPost= steps, but not its
// OnSuccess=/OnFailure=: systemd starts imagebuild-end@<id>.service (or
// imagebuild-end-failed@) with the end in $MONITOR_*; it writes the outcome,
// stages, mails, posts the final webhook and marks the log's end, as the
// unit's own steps would have. Only one of the two ever runs; the build
// ends once it has (endOfBuildEnded), from the outcome it wrote. systemd
// starts it when the build's unit ends, so it is followed before it sends
// anything.
void BuildLifecycle::waitForEndUnits(const BuildRecord& r) {
    auto id = r.id;
    auto ends = endUnitsOf(id);
    logInfo(fmt::format("{} ended without running its outcome recorder; waiting for {} or {}",
                        r.unit, ends.afterSuccess, ends.afterFailure));
    ++pendingCalls_;  // one for the pair, until one of them has ended
    endingIds_.insert(id);
    for (const auto& unit : {ends.afterSuccess, ends.afterFailure}) {
        EndOfBuild end;
        end.id = id;
        end.systemdStarted = true;
        endUnits_[unit] = std::move(end);
        units_.follow(unit);
    }
}

bool BuildLifecycle::followRunningEndUnit(const BuildRecord& r) {
    auto ends = endUnitsOf(r.id);
    for (const auto& unit : {ends.afterSuccess, ends.afterFailure}) {
        auto state = units_.activeState(unit);
        if (state.empty() || state == "inactive" || state == "failed") {
            continue;
        }
        logInfo(fmt::format("following {} ({}): build {} ends when it has", unit, state, r.id));
        ++pendingCalls_;
        endingIds_.insert(r.id);
        EndOfBuild end;
        end.id = r.id;
        end.started = true;
        end.systemdStarted = true;
        endUnits_[unit] = std::move(end);
        units_.follow(unit);
        return true;
    }
    return false;
}

// The end-of-build step went with the recorder. It runs as a unit of its
// own, as root like the mail units; it stages, mails and posts the webhook
// at most once each, and marks the log's end. The build stays running until
// that unit has ended, as it would until its own unit's step had.
bool BuildLifecycle::startEndOfBuild(const BuildRecord& r, PendingFinish pending) {
    if (options_.helpers.buildHook.empty()) {
        return false;
    }
    auto id = r.id;
    auto settings = endOfBuildUnitSettingsFor(r, registry_.store(), options_.helpers);
    auto unit = settings.unitName;
    // Counted as a call in flight until the unit ends: the agent stays to
    // take the staged artifacts into the record.
    ++pendingCalls_;
    endUnits_[unit] = {id, false, std::move(pending)};
    endingIds_.insert(id);
    units_.follow(unit);
    units_.start(settings, [this, id, unit](const std::string& error) {
        if (!error.empty()) {
            logEvent(LOG_WARNING, "", id,
                     fmt::format("cannot start the end of build {}: {}", id, error));
            endOfBuildEnded(unit);
        }
    });
    return true;
}

void BuildLifecycle::endOfBuildEnded(const std::string& endUnit) {
    auto it = endUnits_.find(endUnit);
    if (it == endUnits_.end()) {
        return;
    }
    auto end = std::move(it->second);
    endUnits_.erase(it);
    endingIds_.erase(end.id);
    units_.unfollow(endUnit);
    --pendingCalls_;
    if (end.systemdStarted) {
        // Its twin never runs: followed no more. The outcome it wrote (or,
        // if it could not, what the agent saw) ends the build.
        for (const auto& unit :
             {endUnitsOf(end.id).afterSuccess, endUnitsOf(end.id).afterFailure}) {
            if (endUnits_.erase(unit) != 0) {
                units_.unfollow(unit);
            }
        }
        endUnitsDone_.insert(end.id);
        tryFinish(end.id, true);
        return;
    }
    // finish() takes what the end-of-build unit staged as the artifacts.
    if (auto* record = registry_.find(end.id); record != nullptr && running_.count(end.id)) {
        const auto& p = end.pending;
        finish(*record, p.state, p.exitStatus, p.finishedAt, p.reason);
    }
}

// The build never ran: systemd refused its unit, or its program is gone.
// Said in its record (Build1.Reason) and in the journal under its id.
void BuildLifecycle::failToStart(BuildRecord& r, const std::string& reason) {
    logEvent(LOG_ERR, message_id::kBuildStartFailed, r.id,
             fmt::format("build {} cannot start: {}", r.id, reason));
    finish(r, state::kFailed, -1, realtimeUsec(), reason);
}

void BuildLifecycle::finish(BuildRecord& r, const std::string& finalState, int32_t exitStatus,
                            uint64_t finishedAt, const std::string& reason) {
    auto id = r.id;
    const auto& store = registry_.store();
    // A build that failed on a full filesystem says so, whatever its own
    // status; what it left in out/ is kept, but is no result.
    auto full = finalState == state::kFailed ? fullDiskReason(store.buildDir(id)) : std::string();
    r.state = finalState;
    r.result = finalState;
    r.exitStatus = exitStatus;
    // Cancelled by the agent itself (stall_action = cancel): says why.
    auto own = finalState == state::kCancelled && reason.empty() ? r.cancelReason : reason;
    r.reason = own.find(full) != std::string::npos ? own : joinReasons(full, own);
    r.stalledSince = 0;
    r.finishedAt = finishedAt;
    auto outcome = store.readOutcome(id);
    bool outcomeRecorded = outcome.has_value();
    r.failureClass = failureClassOf({finalState, outcome, r.cancelRequested, r.reason});
    r.resources = outcome ? resourcesOf(*outcome, r.startedAt) : ResourceUsage{};
    if (runsAgain(r)) {
        return;
    }
    // What the build unit's end-of-build step staged, with checksums; the
    // type's outputs as they lie when no staging happened (no hook
    // installed). A build whose unit ended without an outcome (interrupted)
    // keeps its partial output on disk, but none of it is an artifact.
    if (!full.empty()) {
        r.artifacts.clear();
    } else if (auto staged = loadStagingResult(store.buildDir(id))) {
        r.artifacts = staged->files;
        r.stagedAt = staged->stagedAt;
    } else if (auto type = options_.config.types.find(r.spec.type);
               outcomeRecorded && type != options_.config.types.end()) {
        r.artifacts = findArtifacts(store.outDir(id), type->second.artifacts);
    }
    // Final in memory even when the write fails: the agent stays (idle()
    // is false) and writes it once it can.
    saveRecord(r);
    registry_.markDone(id);
    forget(id);
    notify([&](LifecycleListener& l) {
        l.buildChanged(r, {"State", "Result", "ExitStatus", "Reason", "FinishedAt", "Artifacts",
                           "FailureClass", "Resources", "StagedAt", "Stalled", "StalledSince"});
        l.buildFinished(r, outcomeRecorded);
    });
    logEvent(finalState == state::kSucceeded ? LOG_INFO : LOG_WARNING, message_id::kBuildFinished,
             id, fmt::format("build {} {} (exit status {})", id, finalState, exitStatus));
    schedule();
}

// --- Attempts -------------------------------------------------------------------

// The attempt that just ended failed for a reason of the host and its type
// says `retry = infra:N`: the same build runs again, as its next attempt,
// once systemd has collected the ended unit (the next one has its name).
// The ended attempt's end is kept in the record (Attempts) and on disk
// (outcome.<n>); its unit's end-of-build step skipped staging, mail and
// webhook for the same reason (build_end.cpp), so only the last attempt's
// end is the build's.
bool BuildLifecycle::runsAgain(BuildRecord& r) {
    auto type = options_.config.types.find(r.spec.type);
    if (type == options_.config.types.end() ||
        !shouldRetry(type->second.retry, r.failureClass, r.attempt)) {
        return false;
    }
    auto id = r.id;
    try {
        registry_.store().endAttempt(id, r.attempt);
    } catch (const std::exception& e) {
        logEvent(LOG_ERR, "", id,
                 fmt::format("build {} is not run again: cannot keep attempt {}'s end: {}", id,
                             r.attempt, e.what()));
        return false;
    }
    logEvent(LOG_WARNING, message_id::kBuildAttemptFailed, id,
             fmt::format("build {} attempt {} failed ({}{}{}); attempt {} of {} queued", id,
                         r.attempt, r.failureClass, r.reason.empty() ? "" : ": ", r.reason,
                         r.attempt + 1, type->second.retry.infra + 1));
    beginNextAttempt(r);
    saveRecord(r);
    running_.erase(id);
    started_.erase(id);
    jobFailures_.erase(id);
    endUnitsDone_.erase(id);
    // Still followed: its UnitRemoved says the name is free again.
    awaitingUnitGone_.insert(id);
    notify([&](LifecycleListener& l) {
        l.buildChanged(
            r, {"State", "Result", "ExitStatus", "Reason", "StartedAt", "FinishedAt", "Artifacts",
                "FailureClass", "Resources", "StagedAt", "Attempt", "Attempts"});
    });
    queueWhenUnitGone(id);
    return true;
}

void BuildLifecycle::queueWhenUnitGone(const std::string& id) {
    ++pendingCalls_;
    units_.checkLoaded(unitNameOf(id), [this, id](UnitRunner::Presence presence) {
        --pendingCalls_;
        if (presence != UnitRunner::Presence::kGone || awaitingUnitGone_.erase(id) == 0) {
            return;  // its UnitRemoved asks again
        }
        units_.unfollow(unitNameOf(id));
        queue_.push_back(id);
        schedule();
    });
}

void BuildLifecycle::forget(const std::string& id) {
    if (running_.erase(id) != 0) {
        if (const auto* record = registry_.find(id)) {
            units_.unfollow(record->unit);
        }
    }
    started_.erase(id);
    jobFailures_.erase(id);
    endUnitsDone_.erase(id);
    if (awaitingUnitGone_.erase(id) != 0) {  // cancelled between two attempts
        units_.unfollow(unitNameOf(id));
    }
}

// --- Reconcile ------------------------------------------------------------------

void BuildLifecycle::reconcile() {
    // Side repositories an agent was making when it died belong to no build.
    std::error_code ec;
    fs::remove_all(uploadsDir(), ec);
    registry_.load([](const fs::path& path, const std::string& why) {
        logEvent(LOG_WARNING, message_id::kStateCorrupt, "",
                 fmt::format("skipping corrupt build record {}: {}", path.string(), why));
    });
    // Only builds not over are read in full (the rest is in the index,
    // read on demand): they are the ones with anything to reconcile.
    auto unfinished = registry_.unfinished();
    for (const auto* record : unfinished) {
        notify([&](LifecycleListener& l) { l.buildLoaded(*record); });
    }
    const auto& store = registry_.store();
    for (auto* record : unfinished) {
        auto& r = *record;
        if (r.state == state::kQueued && !store.readOutcome(r.id) && !store.wasStarted(r.id) &&
            units_.activeState(r.unit).empty()) {
            enqueue(r);
        } else if (r.state == state::kQueued || r.state == state::kRunning) {
            if (hostStartedAt_ == 0) {
                hostStartedAt_ = units_.hostStartedAt();
            }
            // (queued here: "running" was written but lost to a power cut
            // after systemd had the unit.)
            reattach(r);
        } else {
            registry_.markDone(r.id);
        }
    }
    schedule();
}

void BuildLifecycle::reattach(BuildRecord& r) {
    auto id = r.id;
    running_.insert(id);
    units_.follow(r.unit);
    auto activeState = units_.activeState(r.unit);
    // An outcome on a unit still deactivating: its end-of-build step still
    // stages and marks the log's end; followed until the unit is inactive.
    bool unitOver = activeState.empty() || activeState == "inactive" || activeState == "failed";
    bool hasOutcome = registry_.store().readOutcome(id).has_value();
    if (unitOver && !hasOutcome && !activeState.empty()) {
        // Ended while no agent ran, and systemd still has it: its record of
        // the end is asked before the unit is collected.
        units_.recallEnd(r.unit);
    }
    if (unitOver && options_.helpers.endTemplates) {
        if (followRunningEndUnit(r)) {
            started_.insert(id);
            return;
        }
        endUnitsDone_.insert(id);
    }
    if (unitOver && (hasOutcome || !activeState.empty())) {
        started_.insert(id);
        tryFinish(id, true);
    } else if (activeState.empty()) {
        // Running, yet systemd has no unit and nothing recorded its end: the
        // host went down under it (a power cut, a crash), or its end could
        // not be written. Recorded as interrupted, never run again: a user
        // who wants it again asks for a retry, a new build.
        bool hostRestarted = r.startedAt != 0 && r.startedAt < hostStartedAt_;
        auto full = fullDiskReason(registry_.store().buildDir(id));
        auto reason =
            !full.empty() ? "interrupted: " + full
            : hostRestarted
                ? std::string("interrupted: host restarted while running")
                : fmt::format("interrupted: {} vanished without recording an outcome", r.unit);
        logEvent(LOG_WARNING, "", id, fmt::format("build {} {}", id, reason));
        finish(r, r.cancelRequested ? state::kCancelled : state::kFailed, -1, realtimeUsec(),
               r.cancelRequested ? std::string() : reason);
    } else {
        started_.insert(id);
        if (r.state != state::kRunning) {
            r.state = state::kRunning;
            r.startedAt = r.startedAt ? r.startedAt : r.submittedAt;
            saveRecord(r, Sync::kFile);
        }
        logInfo(fmt::format("following build {} again ({} is {})", id, r.unit, activeState));
    }
}

// --- Cancel, pin, cleanup ---------------------------------------------------------

const BuildRecord& BuildLifecycle::cancellable(const std::string& id) const {
    const auto& r = get(id);
    if (r.finished()) {
        throw LifecycleError(Kind::kAlreadyFinished,
                             fmt::format("build {} has already ended: {}", id, r.result));
    }
    return r;
}

void BuildLifecycle::cancel(const std::string& id, std::function<void()> done) {
    cancellable(id);
    auto& r = mustFind(id);
    logEvent(LOG_INFO, message_id::kBuildCancelRequested, id,
             fmt::format("cancel of build {} requested", id));
    if (r.state == state::kQueued) {
        queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
        finish(r, state::kCancelled, -1, realtimeUsec());
        done();
        return;
    }
    // Persist the intent first: whoever reads the outcome later, this agent
    // or the next one, must see a stopped build as cancelled, not failed.
    r.cancelRequested = true;
    try {
        registry_.save(r, Sync::kFileAndDirectory);
    } catch (const std::exception& e) {
        r.cancelRequested = false;
        throw LifecycleError(isNoSpace(errorCodeOf(e)) ? Kind::kNoSpace : Kind::kInternal,
                             fmt::format("cannot record the cancel of {}: {}", id, e.what()));
    }
    ++pendingCalls_;
    units_.stop(r.unit, [this, id, done = std::move(done)](const std::string& error) {
        --pendingCalls_;
        if (!error.empty()) {
            // The unit is gone already: its end is (or will be) recorded.
            tryFinish(id, true);
        }
        done();
    });
}

void BuildLifecycle::markStalled(const std::string& id, std::uint64_t since) {
    auto* r = registry_.find(id);
    if (r == nullptr || r->state != state::kRunning || r->stalledSince != 0) {
        return;
    }
    r->stalledSince = since;
    saveRecord(*r, Sync::kFile);  // the stall mail reads it
    auto reason = stallReason(realtimeUsec() - std::min(since, realtimeUsec()));
    logEvent(LOG_WARNING, "", id, fmt::format("build {} {}: no log line since then", id, reason));
    notify([&](LifecycleListener& l) {
        l.buildChanged(*r, {"Stalled", "StalledSince"});
        l.buildStalled(*r);
    });
    auto type = options_.config.types.find(r->spec.type);
    if (type == options_.config.types.end() || type->second.stallAction != StallAction::kCancel ||
        r->cancelRequested) {
        return;
    }
    r->cancelReason = reason;
    try {
        cancel(id, [] {});
    } catch (const LifecycleError& e) {
        r->cancelReason.clear();
        logError(fmt::format("cannot cancel stalled build {}: {}", id, e.what()));
    }
}

void BuildLifecycle::markUnstalled(const std::string& id) {
    auto* r = registry_.find(id);
    if (r == nullptr || r->stalledSince == 0) {
        return;
    }
    r->stalledSince = 0;
    saveRecord(*r, Sync::kFile);
    logEvent(LOG_INFO, "", id, fmt::format("build {} writes its log again; no longer stalled", id));
    notify([&](LifecycleListener& l) { l.buildChanged(*r, {"Stalled", "StalledSince"}); });
}

void BuildLifecycle::setPinned(const std::string& id, bool pinned) {
    auto& r = mustFind(id);
    if (r.pinned == pinned) {
        return;
    }
    r.pinned = pinned;
    try {
        registry_.save(r, Sync::kFileAndDirectory);
    } catch (const std::exception& e) {
        r.pinned = !pinned;
        throw LifecycleError(isNoSpace(errorCodeOf(e)) ? Kind::kNoSpace : Kind::kInternal,
                             fmt::format("cannot record the pin of {}: {}", id, e.what()));
    }
    notify([&](LifecycleListener& l) { l.buildChanged(r, {"Pinned"}); });
    logEvent(LOG_INFO, "", id, fmt::format("build {} {}", id, pinned ? "pinned" : "unpinned"));
}

std::vector<std::string> BuildLifecycle::cleanup() {
    const auto& store = registry_.store();
    std::vector<RetentionCandidate> candidates;
    const auto& summaries = registry_.summaries();
    for (std::size_t i = 0; i < summaries.size(); ++i) {
        auto r = summaries[i];
        std::string id(r.id);
        bool removable = r.finished() && !running_.count(id) && !r.pinned;
        auto size = directorySize(store.buildDir(id));
        candidates.push_back({std::move(id), removable, r.finishedAt, size});
    }
    std::vector<std::string> removed;
    for (const auto& removal :
         selectForRemoval(candidates, options_.config.retention, realtimeUsec())) {
        const auto& id = removal.id;
        try {
            registry_.remove(id);
        } catch (const std::exception& e) {
            logEvent(LOG_ERR, message_id::kBuildRemoved, id,
                     fmt::format("cannot remove build {}: {}", id, e.what()));
            continue;
        }
        // The record is gone: listeners drop what they hold for it by id.
        notify([&](LifecycleListener& l) { l.buildRemoved(id); });
        logEvent(LOG_INFO, message_id::kBuildRemoved, id,
                 fmt::format("build {} removed: {}", id, removal.reason));
        removed.push_back(id);
    }
    return removed;
}

}  // namespace imagebuild::agent
