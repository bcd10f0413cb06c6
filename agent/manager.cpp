#include "agent/manager.hpp"

#include "agent/staging.hpp"
#include "common/clock.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "agent/journal_log.hpp"
#include "agent/retention.hpp"
#include "agent/webhook.hpp"
#include "common/build_id.hpp"
#include "common/build_json.hpp"
#include "common/dbus_names.hpp"
#include "imagebuild_config.h"

namespace imagebuild::agent {

namespace errors = dbus_names::error;
namespace fs = std::filesystem;

namespace {

constexpr const char* kManagerInterface = org::imagebuild::BuildManager1_adaptor::INTERFACE_NAME;

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    for (size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

// Exit statuses systemd uses when it cannot set up or execute a unit's
// program (systemd.exec(5), "Process Exit Codes"); a build's own program
// could use them too, so the reason says "status N/NAME", as systemctl does.
const char* systemdExitStatusName(int32_t status) {
    static const std::map<int32_t, const char*> names = {
        {200, "CHDIR"},
        {201, "NICE"},
        {202, "FDS"},
        {203, "EXEC"},
        {204, "MEMORY"},
        {205, "LIMITS"},
        {206, "OOM_ADJUST"},
        {207, "SIGNAL_MASK"},
        {208, "STDIN"},
        {209, "STDOUT"},
        {210, "CHROOT"},
        {211, "IOPRIO"},
        {212, "TIMERSLACK"},
        {213, "SECUREBITS"},
        {214, "SETSCHEDULER"},
        {215, "CPUAFFINITY"},
        {216, "GROUP"},
        {217, "USER"},
        {218, "CAPABILITIES"},
        {219, "CGROUP"},
        {220, "SETSID"},
        {222, "STDERR"},
        {224, "PAM"},
        {225, "NETWORK"},
        {226, "NAMESPACE"},
        {227, "NO_NEW_PRIVILEGES"},
        {228, "SECCOMP"},
        {233, "RUNTIME_DIRECTORY"},
        {238, "STATE_DIRECTORY"},
        {243, "CREDENTIALS"},
    };
    auto it = names.find(status);
    return it == names.end() ? nullptr : it->second;
}

// Polkit said no (denied names the action): logged with the build's id, if
// any, and answered with AccessDenied. False when the call may go on.
template <typename Reply>
bool refusedByPolkit(const Reply& reply, const std::string& id, const std::string& what,
                     const std::string& denied) {
    if (denied.empty()) {
        return false;
    }
    logEvent(LOG_NOTICE, message_id::kAccessDenied, id,
             fmt::format("{} refused: {}", what, denied));
    reply->returnError(sdbus::Error(errors::kAccessDenied, denied));
    return true;
}

}  // namespace

Manager::Manager(sdbus::IConnection& connection, ManagerOptions options, StateStore& store,
                 UnitClient& units, Polkit& polkit)
    : AdaptorInterfaces(connection, dbus_names::kManagerPath),
      connection_(connection),
      options_(std::move(options)),
      store_(store),
      units_(units),
      polkit_(polkit) {
    capabilities_.types = availableTypes(options_.config);
    capabilities_.arches = options_.config.host.arches;
    capabilities_.releases = options_.config.host.releases;
    registerAdaptor();
}

Manager::~Manager() {
    unregisterAdaptor();
}

std::string Manager::Version() {
    return IMAGEBUILD_VERSION;
}

bool Manager::idle() const {
    return queue_.empty() && running_.empty() && pendingCalls_ == 0;
}

BuildObject* Manager::find(const std::string& id) {
    auto it = builds_.find(id);
    return it == builds_.end() ? nullptr : it->second.get();
}

BuildObject* Manager::findByUnit(const std::string& unit) {
    const std::string prefix = "imagebuild-", suffix = ".service";
    if (unit.size() <= prefix.size() + suffix.size() || unit.rfind(prefix, 0) != 0 ||
        unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return nullptr;
    }
    return find(unit.substr(prefix.size(), unit.size() - prefix.size() - suffix.size()));
}

void Manager::countsChanged() {
    emitPropertiesChangedSignal(kManagerInterface, {"Running", "Queued"});
}

// --- Submit ---------------------------------------------------------------

bool Manager::queueFull() const {
    const auto& h = options_.config.host;
    return running_.size() + queue_.size() >= static_cast<size_t>(h.maxParallel) + h.queueMax;
}

void Manager::Submit(SubmitReply&& result, std::map<std::string, sdbus::Variant> spec) {
    touch();
    auto caller = callerOf(*getObject().getCurrentlyProcessedMessage());
    BuildSpec parsed;
    try {
        parsed = specFromVariants(spec);
        checkSupported(parsed, capabilities_);
    } catch (const SpecError& e) {
        result.returnError(sdbus::Error(errors::kInvalidSpec, e.what()));
        return;
    } catch (const UnsupportedError& e) {
        result.returnError(sdbus::Error(errors::kUnsupported, e.what()));
        return;
    }
    if (queueFull()) {
        result.returnError(sdbus::Error(
            errors::kQueueFull,
            fmt::format("{} builds are queued already (queue_max); try later", queue_.size())));
        return;
    }
    auto reply = std::make_shared<SubmitReply>(std::move(result));
    if (!parsed.submitter) {
        checkSubmit(reply, caller, std::move(parsed));
        return;
    }
    // Asked first, so a caller who may submit but not in another's name
    // learns which right it lacks.
    std::map<std::string, std::string> details = {{"verb", "submit"},
                                                  {"submitter", *parsed.submitter}};
    ++pendingCalls_;
    polkit_.check(
        caller, action::kSubmitFor, details,
        [this, reply, caller, spec = std::move(parsed)](const std::string& denied) mutable {
            --pendingCalls_;
            afterSubmitForAuthorized(reply, caller, std::move(spec), denied);
        });
}

void Manager::afterSubmitForAuthorized(const std::shared_ptr<SubmitReply>& reply,
                                       const Caller& caller, BuildSpec spec,
                                       const std::string& denied) {
    touch();
    if (refusedByPolkit(
            reply, "",
            fmt::format("submit by uid {} in the name of \"{}\"", caller.uid, *spec.submitter),
            denied)) {
        return;
    }
    checkSubmit(reply, caller, std::move(spec));
}

void Manager::checkSubmit(const std::shared_ptr<SubmitReply>& reply, const Caller& caller,
                          BuildSpec spec) {
    std::map<std::string, std::string> details = {
        {"verb", "submit"}, {"type", spec.type}, {"arch", spec.arch}, {"release", spec.release}};
    ++pendingCalls_;
    polkit_.check(
        caller, action::kSubmit, details,
        [this, reply, spec = std::move(spec), uid = caller.uid](const std::string& denied) mutable {
            --pendingCalls_;
            afterSubmitAuthorized(reply, std::move(spec), uid, denied);
        });
}

void Manager::afterSubmitAuthorized(const std::shared_ptr<SubmitReply>& reply, BuildSpec spec,
                                    uint32_t uid, const std::string& denied) {
    touch();
    if (refusedByPolkit(reply, "", fmt::format("submit by uid {}", uid), denied)) {
        return;
    }
    BuildRecord r;
    try {
        r.number = store_.allocateNumber();
        r.id = BuildId{options_.hostname, r.number}.str();
        r.unit = unitNameOf(r.id);
        r.submitterUid = uid;
        r.submitter = spec.submitter ? *spec.submitter : userNameOf(uid);
        r.submittedAt = realtimeUsec();
        auto timeoutSec = spec.timeoutSec ? spec.timeoutSec : options_.config.host.timeoutSec;
        r.timeoutUSec = timeoutSec * 1'000'000;
        r.monitorUrl = replaceAll(replaceAll(options_.config.host.monitorUrl, "{id}", r.id),
                                  "{host}", options_.hostname);
        std::string kickstart = std::move(spec.kickstart);
        spec.kickstart.clear();
        r.spec = std::move(spec);
        store_.create(r, kickstart);
    } catch (const std::exception& e) {
        logError(fmt::format("cannot record a new build: {}", e.what()));
        reply->returnError(
            sdbus::Error(errors::kInternal, fmt::format("cannot record the build: {}", e.what())));
        return;
    }
    auto id = r.id;
    auto object = std::make_unique<BuildObject>(connection_, std::move(r), *this, true);
    auto path = object->getObjectPath();
    builds_[id] = std::move(object);
    order_.push_back(builds_[id].get());
    queue_.push_back(id);
    logEvent(LOG_INFO, message_id::kBuildQueued, id,
             fmt::format("build {} queued ({} {} {}, uid {}, submitter {})", id,
                         builds_[id]->record().spec.type, builds_[id]->record().spec.arch,
                         builds_[id]->record().spec.release, uid, builds_[id]->record().submitter));
    emitBuildQueued(id, sdbus::ObjectPath(path));
    reply->returnResults(id, sdbus::ObjectPath(path));
    sendSubmissionMail(builds_[id]->record());
    postWebhook(builds_[id]->record());
    countsChanged();
    schedule();
}

// In a unit of its own, so a slow mail server never holds up the agent and
// the mail still goes out if the agent exits.
void Manager::sendSubmissionMail(const BuildRecord& record) {
    if (record.spec.notify.empty() || !options_.config.mail.enabled ||
        options_.helpers.buildHook.empty()) {
        return;
    }
    auto id = record.id;
    ++pendingCalls_;
    units_.start(mailUnitSettingsFor(record, store_, options_.helpers),
                 [this, id](const std::string& error) {
                     --pendingCalls_;
                     if (!error.empty()) {
                         logEvent(
                             LOG_WARNING, "", id,
                             fmt::format("cannot start the submission mail of {}: {}", id, error));
                     }
                 });
}

// Each state's record goes out from a transient unit of its own rather than
// from a child of the agent: the agent may exit on idle (or crash) while a
// slow webhook is retried, and systemd then still runs it to the end, reaps
// it, logs it under the build's IMAGEBUILD_ID= and collects the unit. The
// record is handed over in a file of the build's directory (written
// atomically), not as an argument: it can exceed what a command line
// comfortably holds (labels, artifact lists).
void Manager::postWebhook(const BuildRecord& record) {
    auto url = webhookUrlFor(record, options_.config);
    if (url.empty() || options_.helpers.webhook.empty()) {
        return;
    }
    auto id = record.id;
    auto body = store_.buildDir(id) / ("webhook-" + record.state + ".json");
    try {
        writeFileAtomic(body, nlohmann::json(buildInfoOf(record)).dump(), 0600, Sync::kNone);
    } catch (const std::exception& e) {
        logEvent(LOG_WARNING, message_id::kWebhookFailed, id,
                 fmt::format("cannot write the webhook body of {}: {}", id, e.what()));
        return;
    }
    ++pendingCalls_;
    units_.start(webhookUnitSettingsFor(record, record.state, url, body.string(), options_.helpers),
                 [this, id](const std::string& error) {
                     --pendingCalls_;
                     if (!error.empty()) {
                         logEvent(LOG_WARNING, message_id::kWebhookFailed, id,
                                  fmt::format("cannot start the webhook of {}: {}", id, error));
                     }
                 });
}

// --- Running builds -------------------------------------------------------

void Manager::schedule() {
    while (running_.size() < options_.config.host.maxParallel && !queue_.empty()) {
        auto id = queue_.front();
        queue_.pop_front();
        if (auto* build = find(id)) {
            startBuild(*build);
        }
    }
    countsChanged();
}

void Manager::startBuild(BuildObject& build) {
    auto& r = build.record();
    auto id = r.id;
    UnitSettings settings;
    try {
        auto type = options_.config.types.find(r.spec.type);
        if (type == options_.config.types.end()) {
            throw std::runtime_error("image type " + r.spec.type + " is no longer configured");
        }
        settings = unitSettingsFor(r, type->second, options_.config, store_, options_.helpers);
    } catch (const std::exception& e) {
        running_.insert(id);
        failToStart(build, e.what());
        return;
    }
    r.state = state::kRunning;
    r.startedAt = realtimeUsec();
    running_.insert(id);
    // Follow the unit before it exists, so no change can be missed.
    watches_[id] = units_.watch(
        r.unit, [this, id](const std::string& activeState) { onUnitState(id, activeState); });
    ++pendingCalls_;
    units_.start(settings, [this, id](const std::string& error) {
        --pendingCalls_;
        if (!error.empty()) {
            if (auto* b = find(id); b && running_.count(id)) {
                failToStart(*b,
                            fmt::format("systemd refused to start {}: {}", unitNameOf(id), error));
            }
        }
    });
    // Recorded while systemd starts the unit, not before: if the agent
    // stops in between, reconcile() finds the record queued with its unit
    // known to systemd and follows it (or queues it again if systemd never
    // had it).
    try {
        store_.save(r);
    } catch (const std::exception& e) {
        logError(fmt::format("cannot record the start of build {}: {}", id, e.what()));
    }
    build.changed({"State", "StartedAt"});
    emitBuildStarted(id, sdbus::ObjectPath(build.getObjectPath()));
    postWebhook(r);
    logEvent(LOG_INFO, message_id::kBuildStarted, id,
             fmt::format("build {} started as {}", id, r.unit));
}

void Manager::onJobRemoved(const std::string& unit, const std::string& result) {
    auto* build = findByUnit(unit);
    if (build == nullptr || !running_.count(build->record().id)) {
        return;
    }
    const auto& id = build->record().id;
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

void Manager::onUnitRemoved(const std::string& unit) {
    if (auto* build = findByUnit(unit)) {
        tryFinish(build->record().id, true);
    }
}

void Manager::onUnitState(const std::string& id, const std::string& activeState) {
    if (activeState == "inactive" || activeState == "failed") {
        tryFinish(id, false);
    } else {
        started_.insert(id);
    }
}

// The unit may have ended. Its outcome file says how; without one, the end
// is only believed once systemd has dropped the unit (or it had started and
// is inactive again), because a fresh unit is "inactive" before it starts.
void Manager::tryFinish(const std::string& id, bool unitGone) {
    auto* build = find(id);
    if (build == nullptr || !running_.count(id)) {
        return;
    }
    auto outcome = store_.readOutcome(id);
    if (outcome) {
        auto final = finalStateOf(*outcome, build->record().cancelRequested);
        // systemd could not set up or execute the program (status
        // 203/EXEC and the like; its start job failed): say so next to the
        // status, since the build's own log is empty.
        std::string reason;
        const auto& unit = build->record().unit;
        if (final.state == state::kFailed) {
            if (const char* name = systemdExitStatusName(final.exitStatus)) {
                reason = fmt::format(
                    "status {}/{}: systemd could not start the build's program; see "
                    "journalctl -u {}",
                    final.exitStatus, name, unit);
            } else if (auto job = jobFailures_.find(id); job != jobFailures_.end()) {
                reason = job->second;
            }
        }
        if (!reason.empty()) {
            logEvent(LOG_ERR, message_id::kBuildStartFailed, id,
                     fmt::format("build {} cannot start: {}", id, reason));
        }
        finish(*build, final.state, final.exitStatus,
               outcome->finishedAt ? outcome->finishedAt : realtimeUsec(), reason);
    } else if (unitGone || started_.count(id)) {
        bool jobFailed = jobFailures_.count(id) != 0;
        auto reason =
            jobFailed ? jobFailures_[id]
                      : fmt::format("{} ended without recording an outcome", build->record().unit);
        logEvent(LOG_WARNING, jobFailed ? message_id::kBuildStartFailed : "", id,
                 fmt::format("build {} {}: {}", id, jobFailed ? "cannot start" : "ended", reason));
        bool cancelled = build->record().cancelRequested;
        finish(*build, cancelled ? state::kCancelled : state::kFailed, -1, realtimeUsec(),
               cancelled ? std::string() : reason);
    }
}

// The build never ran: systemd refused its unit, or its program is gone.
// Said in its record (Build1.Reason) and in the journal under its id.
void Manager::failToStart(BuildObject& build, const std::string& reason) {
    const auto& id = build.record().id;
    logEvent(LOG_ERR, message_id::kBuildStartFailed, id,
             fmt::format("build {} cannot start: {}", id, reason));
    finish(build, state::kFailed, -1, realtimeUsec(), reason);
}

void Manager::finish(BuildObject& build, const std::string& finalState, int32_t exitStatus,
                     uint64_t finishedAt, const std::string& reason) {
    auto& r = build.record();
    auto id = r.id;
    r.state = finalState;
    r.result = finalState;
    r.exitStatus = exitStatus;
    r.reason = reason;
    r.finishedAt = finishedAt;
    // What the build unit's end-of-build step staged, with checksums; the
    // type's outputs as they lie when no staging happened (no hook installed).
    if (auto staged = loadStagingResult(store_.buildDir(id))) {
        r.artifacts = staged->files;
    } else if (auto type = options_.config.types.find(r.spec.type);
               type != options_.config.types.end()) {
        r.artifacts = findArtifacts(store_.outDir(id), type->second.artifacts);
    }
    try {
        store_.save(r);
        store_.markDone(id);
    } catch (const std::exception& e) {
        logError(fmt::format("cannot record the end of build {}: {}", id, e.what()));
    }
    running_.erase(id);
    started_.erase(id);
    jobFailures_.erase(id);
    watches_.erase(id);
    build.changed({"State", "Result", "ExitStatus", "Reason", "FinishedAt", "Artifacts"});
    emitBuildFinished(id, sdbus::ObjectPath(build.getObjectPath()), finalState);
    // The unit's end-of-build step posts the final record; a build whose
    // unit never ran (cancelled while queued, refused by systemd) has none.
    if (!store_.readOutcome(id)) {
        postWebhook(r);
    }
    logEvent(finalState == state::kSucceeded ? LOG_INFO : LOG_WARNING, message_id::kBuildFinished,
             id, fmt::format("build {} {} (exit status {})", id, finalState, exitStatus));
    schedule();
}

// --- Reconcile --------------------------------------------------------------

void Manager::reconcile() {
    auto records = store_.loadAll([](const fs::path& path, const std::string& why) {
        logEvent(LOG_WARNING, message_id::kStateCorrupt, "",
                 fmt::format("skipping corrupt build record {}: {}", path.string(), why));
    });
    for (auto& record : records) {
        auto id = record.id;
        auto state = record.state;
        builds_[id] = std::make_unique<BuildObject>(connection_, std::move(record), *this, false);
        order_.push_back(builds_[id].get());
        if (state == state::kQueued && !store_.readOutcome(id) &&
            units_.activeState(unitNameOf(id)).empty()) {
            queue_.push_back(id);
        } else if (state == state::kQueued || state == state::kRunning) {
            // (queued here: "running" was written but lost to a power cut
            // after systemd had the unit.)
            reattach(*builds_[id]);
        } else {
            store_.markDone(id);
        }
    }
    schedule();
}

void Manager::reattach(BuildObject& build) {
    auto& r = build.record();
    auto id = r.id;
    running_.insert(id);
    watches_[id] = units_.watch(
        r.unit, [this, id](const std::string& activeState) { onUnitState(id, activeState); });
    auto activeState = units_.activeState(r.unit);
    if (store_.readOutcome(id) || activeState == "inactive" || activeState == "failed") {
        started_.insert(id);
        tryFinish(id, true);
    } else if (activeState.empty()) {
        // systemd never had the unit: the agent stopped between recording
        // "running" and starting it. Nothing ran; queue it again.
        running_.erase(id);
        watches_.erase(id);
        r.state = state::kQueued;
        r.startedAt = 0;
        store_.save(r);
        queue_.push_back(id);
        logInfo(fmt::format("build {} was never started; queued again", id));
    } else {
        started_.insert(id);
        if (r.state != state::kRunning) {
            r.state = state::kRunning;
            r.startedAt = r.startedAt ? r.startedAt : r.submittedAt;
            store_.save(r);
        }
        logInfo(fmt::format("following build {} again ({} is {})", id, r.unit, activeState));
    }
}

// --- Cancel -------------------------------------------------------------------

void Manager::CancelBuild(sdbus::Result<>&& result, std::string id) {
    cancelBuild(id, std::move(result), *getObject().getCurrentlyProcessedMessage());
}

void Manager::cancelBuild(const std::string& id, sdbus::Result<>&& result,
                          const sdbus::Message& call) {
    touch();
    auto* build = find(id);
    if (build == nullptr) {
        result.returnError(
            sdbus::Error(errors::kNotFound,
                         fmt::format("no build {} on {}", id.substr(0, 100), options_.hostname)));
        return;
    }
    if (build->record().finished()) {
        result.returnError(sdbus::Error(
            errors::kAlreadyFinished,
            fmt::format("build {} has already ended: {}", id, build->record().result)));
        return;
    }
    auto caller = callerOf(call);
    bool own = caller.uid == build->record().submitterUid;
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    ++pendingCalls_;
    polkit_.check(caller, own ? action::kCancel : action::kManage, {{"verb", "cancel"}, {"id", id}},
                  [this, id, reply](const std::string& denied) {
                      --pendingCalls_;
                      afterCancelAuthorized(id, reply, denied);
                  });
}

void Manager::afterCancelAuthorized(const std::string& id,
                                    const std::shared_ptr<sdbus::Result<>>& reply,
                                    const std::string& denied) {
    touch();
    auto* build = find(id);
    if (refusedByPolkit(reply, id, "cancel of " + id, denied)) {
        return;
    }
    if (build == nullptr || build->record().finished()) {
        reply->returnError(
            sdbus::Error(errors::kAlreadyFinished, fmt::format("build {} has already ended", id)));
        return;
    }
    auto& r = build->record();
    logEvent(LOG_INFO, message_id::kBuildCancelRequested, id,
             fmt::format("cancel of build {} requested", id));
    if (r.state == state::kQueued) {
        queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
        finish(*build, state::kCancelled, -1, realtimeUsec());
        reply->returnResults();
        return;
    }
    // Persist the intent first: whoever reads the outcome later, this agent
    // or the next one, must see a stopped build as cancelled, not failed.
    r.cancelRequested = true;
    store_.save(r, Sync::kFileAndDirectory);
    ++pendingCalls_;
    units_.stop(r.unit, [this, id, reply](const std::string& error) {
        --pendingCalls_;
        if (error.empty()) {
            reply->returnResults();
            return;
        }
        // The unit is gone already: its end is (or will be) recorded.
        tryFinish(id, true);
        reply->returnResults();
    });
}

// --- Retention ----------------------------------------------------------------

void Manager::setPinned(const std::string& id, bool pinned, sdbus::Result<>&& result,
                        const sdbus::Message& call) {
    touch();
    auto* build = find(id);
    if (build == nullptr) {
        result.returnError(sdbus::Error(errors::kNotFound,
                                        fmt::format("no build {} on {}", id, options_.hostname)));
        return;
    }
    auto caller = callerOf(call);
    bool own = caller.uid == build->record().submitterUid;
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    ++pendingCalls_;
    polkit_.check(caller, own ? action::kCancel : action::kManage,
                  {{"verb", pinned ? "pin" : "unpin"}, {"id", id}},
                  [this, id, pinned, reply](const std::string& denied) {
                      --pendingCalls_;
                      afterPinAuthorized(id, pinned, reply, denied);
                  });
}

void Manager::afterPinAuthorized(const std::string& id, bool pinned,
                                 const std::shared_ptr<sdbus::Result<>>& reply,
                                 const std::string& denied) {
    touch();
    if (refusedByPolkit(reply, id, fmt::format("{} of {}", pinned ? "pin" : "unpin", id), denied)) {
        return;
    }
    auto* build = find(id);
    if (build == nullptr) {  // removed while polkit was asked
        reply->returnError(sdbus::Error(errors::kNotFound,
                                        fmt::format("no build {} on {}", id, options_.hostname)));
        return;
    }
    auto& r = build->record();
    if (r.pinned != pinned) {
        r.pinned = pinned;
        try {
            store_.save(r, Sync::kFileAndDirectory);
        } catch (const std::exception& e) {
            r.pinned = !pinned;
            reply->returnError(sdbus::Error(
                errors::kInternal, fmt::format("cannot record the pin of {}: {}", id, e.what())));
            return;
        }
        build->changed({"Pinned"});
        logEvent(LOG_INFO, "", id, fmt::format("build {} {}", id, pinned ? "pinned" : "unpinned"));
    }
    reply->returnResults();
}

void Manager::Cleanup(sdbus::Result<std::vector<std::string>>&& result) {
    touch();
    auto caller = callerOf(*getObject().getCurrentlyProcessedMessage());
    auto reply = std::make_shared<sdbus::Result<std::vector<std::string>>>(std::move(result));
    ++pendingCalls_;
    polkit_.check(caller, action::kManage, {{"verb", "cleanup"}},
                  [this, reply, uid = caller.uid](const std::string& denied) {
                      --pendingCalls_;
                      afterCleanupAuthorized(reply, uid, denied);
                  });
}

void Manager::afterCleanupAuthorized(
    const std::shared_ptr<sdbus::Result<std::vector<std::string>>>& reply, uint32_t uid,
    const std::string& denied) {
    touch();
    if (refusedByPolkit(reply, "", fmt::format("cleanup by uid {}", uid), denied)) {
        return;
    }
    std::vector<RetentionCandidate> candidates;
    for (const auto* build : order_) {
        const auto& r = build->record();
        const auto& id = r.id;
        candidates.push_back({id, r.finished() && !running_.count(id) && !r.pinned, r.finishedAt,
                              directorySize(store_.buildDir(id))});
    }
    std::vector<std::string> removed;
    for (const auto& removal :
         selectForRemoval(candidates, options_.config.retention, realtimeUsec())) {
        const auto& id = removal.id;
        try {
            store_.remove(id);
        } catch (const std::exception& e) {
            logEvent(LOG_ERR, message_id::kBuildRemoved, id,
                     fmt::format("cannot remove build {}: {}", id, e.what()));
            continue;
        }
        auto* build = builds_.at(id).get();
        build->emitInterfacesRemovedSignal({org::imagebuild::Build1_adaptor::INTERFACE_NAME});
        order_.erase(std::remove(order_.begin(), order_.end(), build), order_.end());
        builds_.erase(id);
        logEvent(LOG_INFO, message_id::kBuildRemoved, id,
                 fmt::format("build {} removed: {}", id, removal.reason));
        removed.push_back(id);
    }
    reply->returnResults(removed);
}

// --- Queries ----------------------------------------------------------------

// A kickstart may hold password hashes: its submitter reads it, anyone
// else needs manage (the forwarder gets it for its admin tokens through
// polkit/50-imagebuild.rules).
void Manager::readKickstart(const std::string& id, sdbus::Result<std::string>&& result,
                            const sdbus::Message& call) {
    touch();
    auto* build = find(id);
    if (build == nullptr) {
        result.returnError(sdbus::Error(errors::kNotFound,
                                        fmt::format("no build {} on {}", id, options_.hostname)));
        return;
    }
    auto caller = callerOf(call);
    if (caller.uid == build->record().submitterUid) {
        result.returnResults(store_.readKickstart(id));
        return;
    }
    auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
    ++pendingCalls_;
    polkit_.check(
        caller, action::kManage, {{"verb", "kickstart"}, {"id", id}},
        [this, id, reply, uid = caller.uid](const std::string& denied) {
            --pendingCalls_;
            touch();
            if (!refusedByPolkit(reply, id, fmt::format("kickstart of {} read by uid {}", id, uid),
                                 denied)) {
                reply->returnResults(store_.readKickstart(id));
            }
        });
}

sdbus::ObjectPath Manager::GetBuild(const std::string& id) {
    touch();
    if (find(id) == nullptr) {
        throw sdbus::Error(errors::kNotFound, fmt::format("no build \"{}\" on {}",
                                                          id.substr(0, 100), options_.hostname));
    }
    return sdbus::ObjectPath(buildObjectPath(id));
}

namespace {

struct Filter {
    std::vector<std::string> states;
    std::string type, arch, release;
    std::optional<uint32_t> uid;
};

template <typename T>
T filterValue(const std::string& key, const sdbus::Variant& v, const char* signature) {
    if (!v.containsValueOfType<T>()) {
        throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                           fmt::format("filter key '{}' must be of type '{}'", key, signature));
    }
    return v.get<T>();
}

Filter parseFilter(const std::map<std::string, sdbus::Variant>& filter) {
    Filter f;
    for (const auto& [key, v] : filter) {
        if (key == "states") {
            f.states = filterValue<std::vector<std::string>>(key, v, "as");
        } else if (key == "type") {
            f.type = filterValue<std::string>(key, v, "s");
        } else if (key == "arch") {
            f.arch = filterValue<std::string>(key, v, "s");
        } else if (key == "release") {
            f.release = filterValue<std::string>(key, v, "s");
        } else if (key == "submitter_uid") {
            f.uid = filterValue<uint32_t>(key, v, "u");
        } else {
            throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                               fmt::format("unknown filter key '{}'; known: states, type, arch, "
                                           "release, submitter_uid",
                                           key.substr(0, 80)));
        }
    }
    return f;
}

bool matches(const Filter& f, const BuildRecord& r) {
    return (f.states.empty() ||
            std::find(f.states.begin(), f.states.end(), r.state) != f.states.end()) &&
           (f.type.empty() || f.type == r.spec.type) && (f.arch.empty() || f.arch == r.spec.arch) &&
           (f.release.empty() || f.release == r.spec.release) &&
           (!f.uid || *f.uid == r.submitterUid);
}

}  // namespace

std::vector<Manager::Row> Manager::ListBuilds(const std::map<std::string, sdbus::Variant>& filter) {
    touch();
    auto f = parseFilter(filter);
    // Straight from the builds in order: no lookup by id (with 10,000
    // builds, the map lookups were a quarter of the agent's time here).
    std::vector<Row> rows;
    rows.reserve(order_.size());
    for (const auto* build : order_) {
        const auto& b = *build;
        const auto& r = b.record();
        if (matches(f, r)) {
            rows.emplace_back(r.id, r.spec.type, r.spec.arch, r.spec.release, r.spec.name,
                              r.submitter, r.state, r.result, r.submitterUid, r.submittedAt,
                              r.startedAt, r.finishedAt, sdbus::ObjectPath(b.getObjectPath()));
        }
    }
    return rows;
}

}  // namespace imagebuild::agent
