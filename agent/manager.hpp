// org.imagebuild.BuildManager1 at /org/imagebuild/Agent1 (with the
// ObjectManager there), and the lifecycle of every build on this host:
// submit -> queued (persisted) -> running (a transient unit) -> final
// (from the outcome the unit's ExecStopPost= recorded).
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/build_object.hpp"
#include "agent/polkit.hpp"
#include "agent/state_store.hpp"
#include "agent/unit_client.hpp"
#include "common/build_spec.hpp"
#include "common/config.hpp"
#include "dbus/BuildManager1_adaptor.h"

namespace imagebuild::agent {

struct ManagerOptions {
    Config config;
    std::string hostname;
    HelperPaths helpers;
};

class Manager final
    : public sdbus::AdaptorInterfaces<org::imagebuild::BuildManager1_adaptor,
                                      sdbus::ObjectManager_adaptor, sdbus::Properties_adaptor>,
      public BuildOwner {
public:
    Manager(sdbus::IConnection& connection, ManagerOptions options, StateStore& store,
            UnitClient& units, Polkit& polkit);
    ~Manager();
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    // Loads every build from disk and brings it up to date with systemd:
    // queued builds queue again, running units are followed again, builds
    // that ended meanwhile get their recorded result. Then starts what fits.
    void reconcile();

    // Nothing queued, nothing running, no call in progress.
    bool idle() const;
    std::chrono::steady_clock::time_point lastActivity() const { return lastActivity_; }

    // systemd signals, routed here by UnitClient.
    void onJobRemoved(const std::string& unit, const std::string& result);
    void onUnitRemoved(const std::string& unit);

    // BuildOwner
    void cancelBuild(const std::string& id, sdbus::Result<>&& result,
                     const sdbus::Message& call) override;
    void readKickstart(const std::string& id, sdbus::Result<std::string>&& result,
                       const sdbus::Message& call) override;
    void setPinned(const std::string& id, bool pinned, sdbus::Result<>&& result,
                   const sdbus::Message& call) override;

private:
    using Row = sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                              std::string, std::string, std::string, uint32_t, uint64_t, uint64_t,
                              uint64_t, sdbus::ObjectPath>;
    using SubmitReply = sdbus::Result<std::string, sdbus::ObjectPath>;

    // BuildManager1
    void Submit(SubmitReply&& result, std::map<std::string, sdbus::Variant> spec) override;
    std::vector<Row> ListBuilds(const std::map<std::string, sdbus::Variant>& filter) override;
    sdbus::ObjectPath GetBuild(const std::string& id) override;
    void CancelBuild(sdbus::Result<>&& result, std::string id) override;
    void Cleanup(sdbus::Result<std::vector<std::string>>&& result) override;
    std::string Hostname() override { return options_.hostname; }
    std::string Version() override;
    std::vector<std::string> Arches() override { return options_.config.host.arches; }
    std::vector<std::string> Releases() override { return options_.config.host.releases; }
    std::vector<std::string> ImageTypes() override { return capabilities_.types; }
    uint32_t MaxParallel() override { return options_.config.host.maxParallel; }
    uint32_t QueueMax() override { return options_.config.host.queueMax; }
    uint32_t Running() override { return static_cast<uint32_t>(running_.size()); }
    uint32_t Queued() override { return static_cast<uint32_t>(queue_.size()); }

    // The spec names a submitter: org.imagebuild.submit-for first, then
    // checkSubmit(); without one checkSubmit() alone.
    void afterSubmitForAuthorized(const std::shared_ptr<SubmitReply>& reply, const Caller& caller,
                                  BuildSpec spec, const std::string& denied);
    void checkSubmit(const std::shared_ptr<SubmitReply>& reply, const Caller& caller,
                     BuildSpec spec);
    void afterSubmitAuthorized(const std::shared_ptr<SubmitReply>& reply, BuildSpec spec,
                               uint32_t uid, const std::string& denied);
    void afterCancelAuthorized(const std::string& id, const std::shared_ptr<sdbus::Result<>>& reply,
                               const std::string& denied);
    void afterPinAuthorized(const std::string& id, bool pinned,
                            const std::shared_ptr<sdbus::Result<>>& reply,
                            const std::string& denied);
    void afterCleanupAuthorized(
        const std::shared_ptr<sdbus::Result<std::vector<std::string>>>& reply, uint32_t uid,
        const std::string& denied);
    bool queueFull() const;

    void sendSubmissionMail(const BuildRecord& record);
    void postWebhook(const BuildRecord& record);
    void schedule();
    void startBuild(BuildObject& build);
    void onUnitState(const std::string& id, const std::string& activeState);
    void tryFinish(const std::string& id, bool unitGone);
    // reason: why, when the build's own log cannot say (Build1.Reason).
    void finish(BuildObject& build, const std::string& state, int32_t exitStatus,
                uint64_t finishedAt, const std::string& reason = {});
    void failToStart(BuildObject& build, const std::string& reason);
    void reattach(BuildObject& build);
    void countsChanged();

    BuildObject* find(const std::string& id);
    BuildObject* findByUnit(const std::string& unit);
    void touch() { lastActivity_ = std::chrono::steady_clock::now(); }

    sdbus::IConnection& connection_;
    ManagerOptions options_;
    StateStore& store_;
    UnitClient& units_;
    Polkit& polkit_;
    HostCapabilities capabilities_;

    std::map<std::string, std::unique_ptr<BuildObject>> builds_;
    std::vector<BuildObject*> order_;  // every build in builds_, oldest first
    std::deque<std::string> queue_;    // FIFO of queued ids
    std::set<std::string> running_;
    std::set<std::string> started_;                   // running builds systemd has confirmed
    std::map<std::string, std::string> jobFailures_;  // id -> systemd's failed start job
    std::map<std::string, sdbus::Slot> watches_;
    unsigned pendingCalls_ = 0;  // calls waiting for polkit or systemd
    std::chrono::steady_clock::time_point lastActivity_ = std::chrono::steady_clock::now();
};

}  // namespace imagebuild::agent
