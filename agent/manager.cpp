#include "agent/manager.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "agent/journal_log.hpp"
#include "common/build_id.hpp"
#include "common/dbus_names.hpp"
#include "common/list_builds.hpp"
#include "imagebuild_config.h"

namespace imagebuild::agent {

namespace errors = dbus_names::error;

namespace {

constexpr const char* kManagerInterface = org::imagebuild::BuildManager1_adaptor::INTERFACE_NAME;
constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";

// The one place a refusal of the model becomes a D-Bus error.
sdbus::Error toDbusError(const LifecycleError& e) {
    switch (e.kind()) {
        case LifecycleError::Kind::kNotFound:
            return sdbus::Error(errors::kNotFound, e.what());
        case LifecycleError::Kind::kAlreadyFinished:
            return sdbus::Error(errors::kAlreadyFinished, e.what());
        case LifecycleError::Kind::kQueueFull:
            return sdbus::Error(errors::kQueueFull, e.what());
        case LifecycleError::Kind::kNoSpace:
            return sdbus::Error(errors::kNoSpace, e.what());
        case LifecycleError::Kind::kInternal:
            break;
    }
    return sdbus::Error(errors::kInternal, e.what());
}

// Retry's options: only "submitter", checked as Submit's spec key is.
// Throws SpecError.
std::optional<std::string> retrySubmitterOf(const std::map<std::string, sdbus::Variant>& options) {
    std::optional<std::string> submitter;
    for (const auto& [key, value] : options) {
        if (key != "submitter") {
            throw SpecError(key, "unknown Retry option '" + key.substr(0, 64) +
                                     "'; the only option is 'submitter'");
        }
        if (!value.containsValueOfType<std::string>()) {
            throw SpecError(key, "Retry option 'submitter' must be a string (s)");
        }
        submitter = value.get<std::string>();
        if (auto problem = submitterNameProblem(*submitter); !problem.empty()) {
            throw SpecError(key, "Retry option 'submitter' " + problem);
        }
    }
    return submitter;
}

// Runs the checks a new build passes before it is authorized (Submit and
// Retry); a refusal is answered on `result` as its named error, and false.
template <typename Reply, typename Checks>
bool passesChecks(Reply& result, Checks&& checks) {
    try {
        checks();
        return true;
    } catch (const SpecError& e) {
        result.returnError(sdbus::Error(errors::kInvalidSpec, e.what()));
    } catch (const UnsupportedError& e) {
        result.returnError(sdbus::Error(errors::kUnsupported, e.what()));
    } catch (const LifecycleError& e) {
        result.returnError(toDbusError(e));
    } catch (const PackageError& e) {
        result.returnError(sdbus::Error(errors::kInvalidPackage, e.what()));
    } catch (const UploadTooLargeError& e) {
        result.returnError(sdbus::Error(errors::kUploadTooLarge, e.what()));
    }
    return false;
}

}  // namespace

Manager::Manager(sdbus::IConnection& connection, sd_bus* bus, BuildLifecycle& lifecycle,
                 const Notifications& notifications, Polkit& polkit)
    : AdaptorInterfaces(connection, dbus_names::kManagerPath),
      connection_(connection),
      lifecycle_(lifecycle),
      notifications_(notifications),
      polkit_(polkit) {
    const auto& config = lifecycle_.options().config;
    capabilities_.types = availableTypes(config);
    capabilities_.arches = config.host.arches;
    capabilities_.releases = config.host.releases;
    registerAdaptor();
    objects_ = std::make_unique<BuildObjects>(connection, bus, lifecycle_.registry(), *this);
}

Manager::~Manager() {
    objects_.reset();
    unregisterAdaptor();
}

std::string Manager::Version() {
    return IMAGEBUILD_VERSION;
}

bool Manager::idle() const {
    return lifecycle_.idle() && notifications_.idle() && pendingCalls_ == 0;
}

template <typename Reply>
void Manager::authorize(const Caller& caller, const char* action,
                        const std::map<std::string, std::string>& details,
                        const std::shared_ptr<Reply>& reply, const std::string& id,
                        const std::string& what, std::function<void()> allowed) {
    ++pendingCalls_;
    polkit_.check(caller, action, details,
                  [this, reply, id, what, allowed = std::move(allowed)](const std::string& denied) {
                      --pendingCalls_;
                      touch();
                      if (denied.empty()) {
                          allowed();
                          return;
                      }
                      logEvent(LOG_NOTICE, message_id::kAccessDenied, id,
                               fmt::format("{} refused: {}", what, denied));
                      reply->returnError(sdbus::Error(errors::kAccessDenied, denied));
                  });
}

// --- Lifecycle events ---------------------------------------------------------

void Manager::buildLoaded(const BuildRecord& record) {
    objects_->add(record, false);
}

void Manager::buildQueued(const BuildRecord& record) {
    auto path = sdbus::ObjectPath(objects_->add(record, true).getObjectPath());
    emitBuildQueued(record.id, path);
}

void Manager::buildStarted(const BuildRecord& record) {
    emitBuildStarted(record.id, sdbus::ObjectPath(buildObjectPath(record.id)));
}

void Manager::buildFinished(const BuildRecord& record, bool /*outcomeRecorded*/) {
    emitBuildFinished(record.id, sdbus::ObjectPath(buildObjectPath(record.id)), record.state);
    objects_->ended(record.id);
}

void Manager::buildRemoved(const std::string& id) {
    objects_->removed(id);
}

void Manager::buildChanged(const BuildRecord& record, const std::vector<std::string>& properties) {
    if (auto* object = objects_->find(record.id)) {
        object->changed(properties);
    }
}

void Manager::countsChanged() {
    emitPropertiesChangedSignal(kManagerInterface, {"Running", "Queued"});
}

// --- Submit -------------------------------------------------------------------

void Manager::Submit(SubmitReply&& result, std::map<std::string, sdbus::Variant> spec) {
    touch();
    auto caller = polkit_.callerOf(*getObject().getCurrentlyProcessedMessage());
    BuildSpec parsed;
    if (!passesChecks(result, [&] {
            parsed = specFromVariants(spec);
            checkSupported(parsed, capabilities_);
            addedRepos(parsed, lifecycle_.options().config.repositories, {});
            checkUploadSizes(parsed.rpms, lifecycle_.options().config.repositories.maxUploadBytes);
            lifecycle_.checkAdmission();
        })) {
        return;
    }
    auto reply = std::make_shared<SubmitReply>(std::move(result));
    if (!parsed.submitter) {
        submitAuthorized(reply, caller, parsed);
        return;
    }
    // Asked first, so a caller who may submit but not in another's name
    // learns which right it lacks.
    authorize(caller, action::kSubmitFor, {{"verb", "submit"}, {"submitter", *parsed.submitter}},
              reply, "",
              fmt::format("submit by uid {} in the name of \"{}\"", caller.uid, *parsed.submitter),
              [this, reply, caller, parsed] { submitAuthorized(reply, caller, parsed); });
}

void Manager::submitAuthorized(const std::shared_ptr<SubmitReply>& reply, const Caller& caller,
                               const BuildSpec& spec) {
    authorize(
        caller, action::kSubmit,
        {{"verb", "submit"}, {"type", spec.type}, {"arch", spec.arch}, {"release", spec.release}},
        reply, "", fmt::format("submit by uid {}", caller.uid), [this, reply, caller, spec] {
            authorizePriority(caller, spec.priority, reply, "",
                              [this, reply, spec, uid = caller.uid] {
                                  // The side RPMs are read only now: rpm and createrepo_c run
                                  // for an authorized caller alone.
                                  std::optional<SideRepo> side;
                                  if (!passesChecks(*reply, [&] { side = sideRepoOf(spec); })) {
                                      return;
                                  }
                                  try {
                                      const auto& record =
                                          lifecycle_.submit(spec, uid, {}, side ? &*side : nullptr);
                                      reply->returnResults(
                                          record.id, sdbus::ObjectPath(buildObjectPath(record.id)));
                                  } catch (const LifecycleError& e) {
                                      reply->returnError(toDbusError(e));
                                  }
                              });
        });
}

std::optional<SideRepo> Manager::sideRepoOf(const BuildSpec& spec) {
    if (spec.rpms.empty()) {
        return std::nullopt;
    }
    try {
        return SideRepo::fromUploads(spec.rpms, spec.arch,
                                     lifecycle_.options().config.repositories.maxUploadBytes,
                                     lifecycle_.uploadsDir());
    } catch (const PackageError&) {
        throw;
    } catch (const UploadTooLargeError&) {
        throw;
    } catch (const UnsupportedError&) {
        throw;
    } catch (const std::exception& e) {
        throw LifecycleError(LifecycleError::Kind::kInternal,
                             fmt::format("cannot make the side repository: {}", e.what()));
    }
}

// A place ahead of normal builds is a decision of those who manage the
// host: asked after submit, so a caller who may not submit learns that.
void Manager::authorizePriority(const Caller& caller, std::int32_t priority,
                                const std::shared_ptr<SubmitReply>& reply, const std::string& id,
                                std::function<void()> allowed) {
    if (priority <= 0) {
        allowed();
        return;
    }
    authorize(caller, action::kManage,
              {{"verb", "priority"}, {"priority", std::to_string(priority)}}, reply, id,
              fmt::format("priority {} asked by uid {}", priority, caller.uid), std::move(allowed));
}

// --- Retry ----------------------------------------------------------------------

// Checked like a Submit of the old spec (the type may be gone from this
// host since), authorized like one for the caller's own build and as
// manage for another's; a submitter named in options like Submit's.
void Manager::Retry(SubmitReply&& result, std::string id,
                    std::map<std::string, sdbus::Variant> options) {
    touch();
    auto caller = polkit_.callerOf(*getObject().getCurrentlyProcessedMessage());
    std::uint32_t owner = 0;
    BuildSpec spec;
    std::optional<std::string> submitter;
    if (!passesChecks(result, [&] {
            submitter = retrySubmitterOf(options);
            owner = lifecycle_.get(id).submitterUid;
            spec = lifecycle_.retrySpec(id, caller.uid, submitter);
            checkSupported(spec, capabilities_);
            addedRepos(spec, lifecycle_.options().config.repositories, {});
            lifecycle_.checkAdmission();
        })) {
        return;
    }
    auto reply = std::make_shared<SubmitReply>(std::move(result));
    std::map<std::string, std::string> details{{"verb", "retry"},
                                               {"id", id},
                                               {"type", spec.type},
                                               {"arch", spec.arch},
                                               {"release", spec.release}};
    // The retry keeps the old build's priority, asked for again.
    auto retry = [this, reply, caller, owner, id, details, submitter, priority = spec.priority] {
        authorize(caller, caller.uid == owner ? action::kSubmit : action::kManage, details, reply,
                  id, fmt::format("retry of {} by uid {}", id, caller.uid),
                  [this, reply, id, caller, submitter, priority] {
                      authorizePriority(
                          caller, priority, reply, id, [this, reply, id, caller, submitter] {
                              try {
                                  const auto& record = lifecycle_.retry(id, caller.uid, submitter);
                                  reply->returnResults(
                                      record.id, sdbus::ObjectPath(buildObjectPath(record.id)));
                              } catch (const LifecycleError& e) {
                                  reply->returnError(toDbusError(e));
                              }
                          });
                  });
    };
    if (!submitter) {
        retry();
        return;
    }
    // As for Submit: asked first, so a caller who may retry but not in
    // another's name learns which right it lacks.
    authorize(
        caller, action::kSubmitFor, {{"verb", "retry"}, {"id", id}, {"submitter", *submitter}},
        reply, id,
        fmt::format("retry of {} by uid {} in the name of \"{}\"", id, caller.uid, *submitter),
        retry);
}

// --- Cancel, pin, cleanup -----------------------------------------------------

void Manager::CancelBuild(sdbus::Result<>&& result, std::string id) {
    cancelBuild(id, std::move(result), *getObject().getCurrentlyProcessedMessage());
}

void Manager::cancelBuild(const std::string& id, sdbus::Result<>&& result,
                          const sdbus::Message& call) {
    touch();
    auto caller = polkit_.callerOf(call);
    std::uint32_t owner = 0;
    try {
        const auto& record = lifecycle_.get(id);
        if (record.finished()) {
            throw LifecycleError(LifecycleError::Kind::kAlreadyFinished,
                                 fmt::format("build {} has already ended: {}", id, record.result));
        }
        owner = record.submitterUid;
    } catch (const LifecycleError& e) {
        result.returnError(toDbusError(e));
        return;
    }
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    authorize(caller, caller.uid == owner ? action::kCancel : action::kManage,
              {{"verb", "cancel"}, {"id", id}}, reply, id, "cancel of " + id, [this, id, reply] {
                  try {
                      lifecycle_.cancel(id, [reply] { reply->returnResults(); });
                  } catch (const LifecycleError& e) {
                      reply->returnError(toDbusError(e));
                  }
              });
}

void Manager::setPinned(const std::string& id, bool pinned, sdbus::Result<>&& result,
                        const sdbus::Message& call) {
    touch();
    auto caller = polkit_.callerOf(call);
    std::uint32_t owner = 0;
    try {
        owner = lifecycle_.get(id).submitterUid;
    } catch (const LifecycleError& e) {
        result.returnError(toDbusError(e));
        return;
    }
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    auto verb = pinned ? "pin" : "unpin";
    authorize(caller, caller.uid == owner ? action::kCancel : action::kManage,
              {{"verb", verb}, {"id", id}}, reply, id, fmt::format("{} of {}", verb, id),
              [this, id, pinned, reply] {
                  try {
                      lifecycle_.setPinned(id, pinned);
                      reply->returnResults();
                  } catch (const LifecycleError& e) {
                      reply->returnError(toDbusError(e));
                  }
              });
}

void Manager::Cleanup(sdbus::Result<std::vector<std::string>>&& result) {
    touch();
    auto caller = polkit_.callerOf(*getObject().getCurrentlyProcessedMessage());
    auto reply = std::make_shared<sdbus::Result<std::vector<std::string>>>(std::move(result));
    authorize(caller, action::kManage, {{"verb", "cleanup"}}, reply, "",
              fmt::format("cleanup by uid {}", caller.uid),
              [this, reply] { reply->returnResults(lifecycle_.cleanup()); });
}

// --- Queries --------------------------------------------------------------------

// A kickstart may hold password hashes: its submitter reads it, anyone
// else needs manage (the forwarder gets it for its admin tokens through
// polkit/50-imagebuild.rules).
void Manager::readKickstart(const std::string& id, sdbus::Result<std::string>&& result,
                            const sdbus::Message& call) {
    touch();
    std::uint32_t owner = 0;
    try {
        owner = lifecycle_.get(id).submitterUid;
    } catch (const LifecycleError& e) {
        result.returnError(toDbusError(e));
        return;
    }
    auto caller = polkit_.callerOf(call);
    if (caller.uid == owner) {
        sendKickstart(id, result);
        return;
    }
    auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
    authorize(caller, action::kManage, {{"verb", "kickstart"}, {"id", id}}, reply, id,
              fmt::format("kickstart of {} read by uid {}", id, caller.uid),
              [this, id, reply] { sendKickstart(id, *reply); });
}

// A file that cannot be read is an answer, never an exception in the loop.
void Manager::sendKickstart(const std::string& id, sdbus::Result<std::string>& reply) {
    std::string kickstart;
    try {
        kickstart = lifecycle_.registry().store().readKickstart(id);
    } catch (const std::exception& e) {
        reply.returnError(sdbus::Error(
            errors::kInternal, fmt::format("cannot read the kickstart of {}: {}", id, e.what())));
        return;
    }
    reply.returnResults(kickstart);
}

sdbus::ObjectPath Manager::GetBuild(const std::string& id) {
    touch();
    try {
        return sdbus::ObjectPath(buildObjectPath(lifecycle_.get(id).id));
    } catch (const LifecycleError& e) {
        throw toDbusError(e);
    }
}

std::vector<Manager::Row> Manager::ListBuilds(const std::map<std::string, sdbus::Variant>& filter) {
    touch();
    BuildListFilter f;
    try {
        f = filterFromDbus(filter);
    } catch (const FilterError& e) {
        throw sdbus::Error(kInvalidArgs, e.what());
    }
    // Rows come from the index: no record is read to list. A filter of
    // states only a build not over can be in (what `imagebuildctl list`
    // asks) looks at those builds alone, not the whole history.
    const auto& registry = lifecycle_.registry();
    const auto& all = registry.summaries();
    bool liveOnly =
        !f.states.empty() && std::none_of(f.states.begin(), f.states.end(),
                                          [](const auto& s) { return isFinalState(s); });
    std::vector<std::size_t> live;
    if (liveOnly) {
        for (const auto* record : lifecycle_.registry().unfinished()) {
            if (auto row = all.find(record->number)) {
                live.push_back(*row);
            }
        }
    }
    auto at = [&](std::size_t i) {
        return all[liveOnly ? live[i] : i];
    };
    // Rows are in id-number order, so a page at a cursor starts there.
    RowOrder order{true, !liveOnly && all.timesAscend()};
    auto page = selectPage(
        f, liveOnly ? live.size() : all.size(),
        [&](std::size_t i) {
            auto r = at(i);
            return PageProbe{r.number, r.submittedAt, matches(f, r)};
        },
        order);
    std::vector<Row> rows;
    rows.reserve(page.size());
    for (auto i : page) {
        auto r = at(i);
        std::string id(r.id);
        // A stall matters while a build is not over; the record of such a
        // build is in memory, and the row does not keep it.
        const auto* running = r.finished() ? nullptr : registry.find(id);
        rows.emplace_back(id, std::string(r.type), std::string(r.arch), std::string(r.release),
                          std::string(r.name), std::string(r.submitter), std::string(r.state),
                          std::string(r.result), r.submitterUid, r.submittedAt, r.startedAt,
                          r.finishedAt, sdbus::ObjectPath(buildObjectPath(id)),
                          std::string(r.retryOf), std::string(r.failureClass), r.priority,
                          running ? running->stalledSince : 0);
    }
    return rows;
}

}  // namespace imagebuild::agent
