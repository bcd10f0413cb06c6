// The bus face of one build: /org/imagebuild/Agent1/build/<escaped id>,
// interface org.imagebuild.Build1. A view over the build's record in the
// BuildRegistry (which outlives it); the lifecycle changes the record and
// the manager calls changed() so PropertiesChanged goes out.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <vector>

#include "agent/build_record.hpp"
#include "dbus/Build1_adaptor.h"

namespace imagebuild::agent {

// What a build object needs from its manager.
class BuildOwner {
public:
    virtual void cancelBuild(const std::string& id, sdbus::Result<>&& result,
                             const sdbus::Message& call) = 0;
    // Replies with the kickstart to its submitter, or to a caller polkit
    // grants org.imagebuild.manage; AccessDenied otherwise.
    virtual void readKickstart(const std::string& id, sdbus::Result<std::string>&& result,
                               const sdbus::Message& call) = 0;
    virtual void setPinned(const std::string& id, bool pinned, sdbus::Result<>&& result,
                           const sdbus::Message& call) = 0;

protected:
    ~BuildOwner() = default;
};

class BuildObject final
    : public sdbus::AdaptorInterfaces<org::imagebuild::Build1_adaptor, sdbus::ManagedObject_adaptor,
                                      sdbus::Properties_adaptor> {
public:
    // announce: emit InterfacesAdded (a new build, not one loaded from disk).
    BuildObject(sdbus::IConnection& connection, const BuildRecord& record, BuildOwner& owner,
                bool announce);
    ~BuildObject();
    BuildObject(const BuildObject&) = delete;
    BuildObject& operator=(const BuildObject&) = delete;

    const BuildRecord& record() const { return record_; }
    // Emits PropertiesChanged for these (non-const) properties.
    void changed(const std::vector<std::string>& properties);

private:
    void Cancel(sdbus::Result<>&& result) override;
    void SetPinned(sdbus::Result<>&& result, bool pinned) override;
    void GetKickstart(sdbus::Result<std::string>&& result) override;

    std::string Id() override { return record_.id; }
    std::string Type() override { return record_.spec.type; }
    std::string Arch() override { return record_.spec.arch; }
    std::string Release() override { return record_.spec.release; }
    std::string Name() override { return record_.spec.name; }
    std::map<std::string, std::string> Labels() override { return record_.spec.labels; }
    std::vector<std::string> Notify() override { return record_.spec.notify; }
    uint64_t TimeoutUSec() override { return record_.timeoutUSec; }
    uint32_t SubmitterUid() override { return record_.submitterUid; }
    std::string Submitter() override { return record_.submitter; }
    std::string Unit() override { return record_.unit; }
    std::string MonitorUrl() override { return record_.monitorUrl; }
    uint64_t SubmittedAt() override { return record_.submittedAt; }
    std::string State() override { return record_.state; }
    std::string Result() override { return record_.result; }
    int32_t ExitStatus() override { return record_.exitStatus; }
    std::string Reason() override { return record_.reason; }
    uint64_t StartedAt() override { return record_.startedAt; }
    uint64_t FinishedAt() override { return record_.finishedAt; }
    std::vector<sdbus::Struct<std::string, std::string, uint64_t, std::string>> Artifacts()
        override;
    bool Pinned() override { return record_.pinned; }
    std::string RetryOf() override { return record_.retryOf; }
    std::string FailureClass() override { return record_.failureClass; }
    std::map<std::string, uint64_t> Resources() override {
        return resourceMapOf(record_.resources);
    }
    uint64_t StagedAt() override { return record_.stagedAt; }
    uint32_t Attempt() override { return record_.attempt; }
    std::vector<sdbus::Struct<uint32_t, std::string, std::string, std::string, uint64_t, uint64_t>>
    Attempts() override;
    int32_t Priority() override { return record_.spec.priority; }
    bool Stalled() override { return record_.stalledSince != 0; }
    uint64_t StalledSince() override { return record_.stalledSince; }

    const BuildRecord& record_;
    BuildOwner& owner_;
};

}  // namespace imagebuild::agent
