// The local agent as the forwarder uses it. Failures are sdbus::Error with the
// agent's named error (org.imagebuild.Error.*); dbus_errors.hpp maps them.
#pragma once

#include <sdbus-c++/Types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/build_info.hpp"
#include "forwarder/host_info.hpp"

namespace imagebuild::forwarder {

using DbusSpec = std::map<std::string, sdbus::Variant>;

class AgentClient {
public:
    virtual ~AgentClient() = default;
    virtual std::string submit(const DbusSpec& spec) = 0;  // returns the new id
    virtual std::vector<BuildInfo> list() = 0;             // rows: no artifacts, no unit
    virtual BuildInfo get(const std::string& id) = 0;      // every property
    virtual void cancel(const std::string& id) = 0;
    virtual std::string kickstart(const std::string& id) = 0;  // the flattened text it ran with
    virtual HostInfo host() = 0;  // capabilities and load; url/healthy left to the caller
};

// Talks to org.imagebuild.Agent1 on the system bus, one connection per call so
// that connection threads never share an sd-bus object.
std::unique_ptr<AgentClient> makeDbusAgentClient();

}  // namespace imagebuild::forwarder
