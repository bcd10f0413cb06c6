// org.imagebuild.BuildManager1 at /org/imagebuild/Agent1 (with the
// ObjectManager there) and the Build1 objects (build_objects.hpp): the bus face of the
// agent's model. Each method unpacks its call, asks polkit the questions
// access_policy.hpp declares for it (authorize()), calls the model and maps
// its errors to named D-Bus errors; the lifecycle's events become signals.
// The model: the checks of a new build in build_admission.hpp, the state
// machine in build_lifecycle.hpp, the builds and their listing in
// build_registry.hpp.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/access_policy.hpp"
#include "agent/build_admission.hpp"
#include "agent/build_lifecycle.hpp"
#include "agent/build_object.hpp"
#include "agent/build_objects.hpp"
#include "agent/notifications.hpp"
#include "agent/polkit.hpp"
#include "agent/service_activity.hpp"
#include "common/build_spec.hpp"
#include "dbus/BuildManager1_adaptor.h"

namespace imagebuild::agent {

class Manager final
    : public sdbus::AdaptorInterfaces<org::imagebuild::BuildManager1_adaptor,
                                      sdbus::ObjectManager_adaptor, sdbus::Properties_adaptor>,
      public BuildOwner,
      public LifecycleListener,
      public ServiceActivity {
public:
    // bus: the sd_bus of `connection` (common/sd_bus_of.hpp), for the
    // build objects' fallback.
    Manager(sdbus::IConnection& connection, sd_bus* bus, BuildLifecycle& lifecycle,
            const Notifications& notifications, Polkit& polkit);
    ~Manager();
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    // Nothing queued, nothing running, no call in progress.
    bool idle() const override;
    std::chrono::steady_clock::time_point lastActivity() const override { return lastActivity_; }

    // BuildOwner
    void cancelBuild(const std::string& id, sdbus::Result<>&& result,
                     const sdbus::Message& call) override;
    void readKickstart(const std::string& id, sdbus::Result<std::string>&& result,
                       const sdbus::Message& call) override;
    void setPinned(const std::string& id, bool pinned, sdbus::Result<>&& result,
                   const sdbus::Message& call) override;

    // LifecycleListener
    void buildLoaded(const BuildRecord& record) override;
    void buildQueued(const BuildRecord& record) override;
    void buildStarted(const BuildRecord& record) override;
    void buildFinished(const BuildRecord& record, bool outcomeRecorded) override;
    void buildRemoved(const std::string& id) override;
    void buildChanged(const BuildRecord& record,
                      const std::vector<std::string>& properties) override;
    void countsChanged() override;

private:
    using Row = BuildListRow;
    using SubmitReply = sdbus::Result<std::string, sdbus::ObjectPath>;

    // BuildManager1
    void Submit(SubmitReply&& result, std::map<std::string, sdbus::Variant> spec) override;
    std::vector<Row> ListBuilds(const std::map<std::string, sdbus::Variant>& filter) override;
    sdbus::ObjectPath GetBuild(const std::string& id) override;
    void Retry(SubmitReply&& result, std::string id,
               std::map<std::string, sdbus::Variant> options) override;
    void CancelBuild(sdbus::Result<>&& result, std::string id) override;
    void Cleanup(sdbus::Result<std::vector<std::string>>&& result) override;
    std::string Hostname() override { return lifecycle_.options().hostname; }
    std::string Version() override;
    std::vector<std::string> Arches() override { return admission_.capabilities().arches; }
    std::vector<std::string> Releases() override { return admission_.capabilities().releases; }
    std::vector<std::string> ImageTypes() override { return admission_.capabilities().types; }
    uint32_t MaxParallel() override { return lifecycle_.options().config.host.maxParallel; }
    uint32_t QueueMax() override { return lifecycle_.options().config.host.queueMax; }
    uint32_t Running() override { return static_cast<uint32_t>(lifecycle_.running()); }
    uint32_t Queued() override { return static_cast<uint32_t>(lifecycle_.queued()); }

    // The one polkit check: allowed() runs when the caller may do every
    // action of `chain`, asked one after the other in its order; the first
    // refusal is logged (as its `what`, under the build id, if any) and
    // answered with AccessDenied. An empty chain allows at once.
    template <typename Reply>
    void authorize(const Caller& caller, Authorizations chain, const std::shared_ptr<Reply>& reply,
                   const std::string& id, std::function<void()> allowed);

    // Every call: a record a full disk kept in memory is written as soon as
    // a call finds space again.
    void touch() {
        lastActivity_ = std::chrono::steady_clock::now();
        lifecycle_.retryUnsavedRecords();
    }

    sdbus::IConnection& connection_;
    BuildLifecycle& lifecycle_;
    const Notifications& notifications_;
    Polkit& polkit_;
    BuildAdmission admission_;
    std::unique_ptr<BuildObjects> objects_;
    unsigned pendingCalls_ = 0;  // calls waiting for polkit
    std::chrono::steady_clock::time_point lastActivity_ = std::chrono::steady_clock::now();
};

}  // namespace imagebuild::agent
