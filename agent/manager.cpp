#include "agent/manager.hpp"

#include <fmt/format.h>

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

// The named error of each refusal of the lifecycle.
const char* errorNameOf(LifecycleError::Kind kind) {
    switch (kind) {
        case LifecycleError::Kind::kNotFound:
            return errors::kNotFound;
        case LifecycleError::Kind::kAlreadyFinished:
            return errors::kAlreadyFinished;
        case LifecycleError::Kind::kQueueFull:
            return errors::kQueueFull;
        case LifecycleError::Kind::kNoSpace:
            return errors::kNoSpace;
        case LifecycleError::Kind::kInternal:
            break;
    }
    return errors::kInternal;
}

// The one place a refusal of the model becomes a named D-Bus error. Called
// in a catch block; what is no refusal is thrown on.
sdbus::Error refusal() {
    try {
        throw;
    } catch (const LifecycleError& e) {
        return sdbus::Error(errorNameOf(e.kind()), e.what());
    } catch (const SpecError& e) {
        return sdbus::Error(errors::kInvalidSpec, e.what());
    } catch (const UnsupportedError& e) {
        return sdbus::Error(errors::kUnsupported, e.what());
    } catch (const PackageError& e) {
        return sdbus::Error(errors::kInvalidPackage, e.what());
    } catch (const UploadTooLargeError& e) {
        return sdbus::Error(errors::kUploadTooLarge, e.what());
    } catch (const FilterError& e) {
        return sdbus::Error(kInvalidArgs, e.what());
    }
}

// Runs a step of the model; a refusal is answered on `reply`, and false.
template <typename Reply, typename Step>
bool succeeds(Reply& reply, Step&& step) {
    try {
        step();
        return true;
    } catch (...) {
        reply.returnError(refusal());
        return false;
    }
}

// Submit's and Retry's answer: the new build's id and object path.
template <typename Reply>
void replyWithBuild(Reply& reply, const BuildRecord& record) {
    reply.returnResults(record.id, sdbus::ObjectPath(buildObjectPath(record.id)));
}

// A row of ListBuilds; stalledSince is not in the index (see ListBuilds).
BuildListRow rowOf(const SummaryView& r, std::uint64_t stalledSince) {
    std::string id(r.id);
    return BuildListRow(
        id, std::string(r.type), std::string(r.arch), std::string(r.release), std::string(r.name),
        std::string(r.submitter), std::string(r.state), std::string(r.result), r.submitterUid,
        r.submittedAt, r.startedAt, r.finishedAt, sdbus::ObjectPath(buildObjectPath(id)),
        std::string(r.retryOf), std::string(r.failureClass), r.priority, stalledSince);
}

}  // namespace

Manager::Manager(sdbus::IConnection& connection, sd_bus* bus, BuildLifecycle& lifecycle,
                 const Notifications& notifications, Polkit& polkit)
    : AdaptorInterfaces(connection, dbus_names::kManagerPath),
      connection_(connection),
      lifecycle_(lifecycle),
      notifications_(notifications),
      polkit_(polkit),
      admission_(lifecycle) {
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
void Manager::authorize(const Caller& caller, Authorizations chain,
                        const std::shared_ptr<Reply>& reply, const std::string& id,
                        std::function<void()> allowed) {
    if (chain.empty()) {
        allowed();
        return;
    }
    auto first = std::move(chain.front());
    chain.erase(chain.begin());
    ++pendingCalls_;
    polkit_.check(caller, first.action, first.details,
                  [this, caller, rest = std::move(chain), reply, id, what = std::move(first.what),
                   allowed = std::move(allowed)](const std::string& denied) mutable {
                      --pendingCalls_;
                      touch();
                      if (denied.empty()) {
                          authorize(caller, std::move(rest), reply, id, std::move(allowed));
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

// --- New builds -----------------------------------------------------------------

void Manager::Submit(SubmitReply&& result, std::map<std::string, sdbus::Variant> spec) {
    touch();
    auto caller = polkit_.callerOf(*getObject().getCurrentlyProcessedMessage());
    BuildSpec parsed;
    if (!succeeds(result, [&] {
            parsed = specFromVariants(spec);
            admission_.check(parsed);
        })) {
        return;
    }
    auto reply = std::make_shared<SubmitReply>(std::move(result));
    authorize(caller, access::submit(caller.uid, parsed), reply, "",
              [this, reply, parsed, uid = caller.uid] {
                  // The side RPMs are read only now: rpm and createrepo_c run
                  // for an authorized caller alone.
                  succeeds(*reply, [&] {
                      auto side = admission_.sideRepoOf(parsed);
                      auto* repo = side ? &*side : nullptr;
                      replyWithBuild(*reply, lifecycle_.submit(parsed, uid, {}, repo));
                  });
              });
}

// Checked like a Submit of the old spec (the type may be gone from this
// host since); a submitter named in options like Submit's.
void Manager::Retry(SubmitReply&& result, std::string id,
                    std::map<std::string, sdbus::Variant> options) {
    touch();
    auto caller = polkit_.callerOf(*getObject().getCurrentlyProcessedMessage());
    std::optional<std::string> submitter;
    BuildAdmission::Retry retry;
    if (!succeeds(result, [&] {
            submitter = retrySubmitterOf(options);
            retry = admission_.checkRetry(id, caller.uid, submitter);
        })) {
        return;
    }
    auto reply = std::make_shared<SubmitReply>(std::move(result));
    auto chain = access::retry(caller.uid, id, retry.ownerUid, retry.spec, submitter);
    authorize(caller, std::move(chain), reply, id, [this, reply, id, uid = caller.uid, submitter] {
        succeeds(*reply, [&] { replyWithBuild(*reply, lifecycle_.retry(id, uid, submitter)); });
    });
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
    if (!succeeds(result, [&] { owner = lifecycle_.cancellable(id).submitterUid; })) {
        return;
    }
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    authorize(caller, access::cancel(caller.uid, id, owner), reply, id, [this, id, reply] {
        succeeds(*reply, [&] { lifecycle_.cancel(id, [reply] { reply->returnResults(); }); });
    });
}

void Manager::setPinned(const std::string& id, bool pinned, sdbus::Result<>&& result,
                        const sdbus::Message& call) {
    touch();
    auto caller = polkit_.callerOf(call);
    std::uint32_t owner = 0;
    if (!succeeds(result, [&] { owner = lifecycle_.get(id).submitterUid; })) {
        return;
    }
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    auto chain = access::pin(caller.uid, id, owner, pinned);
    authorize(caller, std::move(chain), reply, id, [this, id, pinned, reply] {
        succeeds(*reply, [&] {
            lifecycle_.setPinned(id, pinned);
            reply->returnResults();
        });
    });
}

void Manager::Cleanup(sdbus::Result<std::vector<std::string>>&& result) {
    touch();
    auto caller = polkit_.callerOf(*getObject().getCurrentlyProcessedMessage());
    auto reply = std::make_shared<sdbus::Result<std::vector<std::string>>>(std::move(result));
    authorize(caller, access::cleanup(caller.uid), reply, "",
              [this, reply] { reply->returnResults(lifecycle_.cleanup()); });
}

// --- Queries --------------------------------------------------------------------

void Manager::readKickstart(const std::string& id, sdbus::Result<std::string>&& result,
                            const sdbus::Message& call) {
    touch();
    std::uint32_t owner = 0;
    if (!succeeds(result, [&] { owner = lifecycle_.get(id).submitterUid; })) {
        return;
    }
    auto caller = polkit_.callerOf(call);
    auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
    authorize(caller, access::readKickstart(caller.uid, id, owner), reply, id, [this, id, reply] {
        succeeds(*reply, [&] { reply->returnResults(lifecycle_.kickstartOf(id)); });
    });
}

sdbus::ObjectPath Manager::GetBuild(const std::string& id) {
    touch();
    try {
        return sdbus::ObjectPath(buildObjectPath(lifecycle_.get(id).id));
    } catch (...) {
        throw refusal();
    }
}

std::vector<Manager::Row> Manager::ListBuilds(const std::map<std::string, sdbus::Variant>& filter) {
    touch();
    BuildListFilter f;
    try {
        f = filterFromDbus(filter);
    } catch (...) {
        throw refusal();
    }
    const auto& registry = lifecycle_.registry();
    std::vector<Row> rows;
    for (const auto& r : registry.list(f)) {
        // A stall matters while a build is not over; the record of such a
        // build is in memory, and the row does not keep it.
        const auto* running = r.finished() ? nullptr : registry.find(std::string(r.id));
        rows.push_back(rowOf(r, running ? running->stalledSince : 0));
    }
    return rows;
}

}  // namespace imagebuild::agent
