// org.imagebuild.BuildManager1 of an agent whose configuration file is
// invalid. The agent still takes its bus name, so a caller gets an answer
// at once instead of waiting out the bus's activation timeout: every call
// (Hostname and Version excepted, they need no configuration) is answered
// org.imagebuild.Error.ConfigInvalid with "file:line: what is wrong". The
// agent exits on idle as usual; a fixed file is read by the next one.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "agent/service_activity.hpp"
#include "common/build_info.hpp"
#include "dbus/BuildManager1_adaptor.h"

namespace imagebuild::agent {

class ConfigInvalidManager final
    : public sdbus::AdaptorInterfaces<org::imagebuild::BuildManager1_adaptor,
                                      sdbus::Properties_adaptor>,
      public ServiceActivity {
public:
    // problem: the ConfigError's message (file:line: what is wrong).
    ConfigInvalidManager(sdbus::IConnection& connection, std::string hostname, std::string problem);
    ~ConfigInvalidManager();
    ConfigInvalidManager(const ConfigInvalidManager&) = delete;
    ConfigInvalidManager& operator=(const ConfigInvalidManager&) = delete;

    bool idle() const override { return true; }
    std::chrono::steady_clock::time_point lastActivity() const override { return lastActivity_; }

private:
    using SubmitReply = sdbus::Result<std::string, sdbus::ObjectPath>;
    [[noreturn]] void refuse();
    template <typename Reply>
    void refuse(Reply& reply) {
        lastActivity_ = std::chrono::steady_clock::now();
        reply.returnError(error());
    }
    sdbus::Error error() const;

    void Submit(SubmitReply&& result, std::map<std::string, sdbus::Variant> spec) override;
    std::vector<BuildListRow> ListBuilds(const std::map<std::string, sdbus::Variant>&) override;
    sdbus::ObjectPath GetBuild(const std::string& id) override;
    void Retry(SubmitReply&& result, std::string id,
               std::map<std::string, sdbus::Variant> options) override;
    void CancelBuild(sdbus::Result<>&& result, std::string id) override;
    void Cleanup(sdbus::Result<std::vector<std::string>>&& result) override;
    std::string Hostname() override { return hostname_; }
    std::string Version() override;
    std::vector<std::string> Arches() override { refuse(); }
    std::vector<std::string> Releases() override { refuse(); }
    std::vector<std::string> ImageTypes() override { refuse(); }
    uint32_t MaxParallel() override { refuse(); }
    uint32_t QueueMax() override { refuse(); }
    uint32_t Running() override { refuse(); }
    uint32_t Queued() override { refuse(); }

    std::string hostname_;
    std::string problem_;
    std::chrono::steady_clock::time_point lastActivity_ = std::chrono::steady_clock::now();
};

}  // namespace imagebuild::agent
