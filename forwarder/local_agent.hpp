// The local agent as the forwarder uses it. Failures are sdbus::Error with the
// agent's named error (org.imagebuild.Error.*); dbus_errors.hpp maps them.
#pragma once

#include <sdbus-c++/Types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/agent_client.hpp"
#include "common/build_info.hpp"
#include "common/list_builds.hpp"
#include "forwarder/host_info.hpp"

namespace imagebuild::forwarder {

using imagebuild::DbusSpec;

class LocalAgent {
public:
    virtual ~LocalAgent() = default;
    virtual std::string submit(const DbusSpec& spec) = 0;  // returns the new id
    virtual std::vector<BuildInfo> list() = 0;             // rows: no artifacts, no unit
    // The builds that match `filter`, one at a time in the agent's order, for
    // callers that keep a few of 10,000 (the D-Bus client has the agent
    // filter and decodes each row as it hands it on; a filter with a limit
    // or a cursor is one page, as ListBuilds pages). By default: list(),
    // filtered and paged here.
    virtual void listEach(const BuildListFilter& filter,
                          const std::function<void(BuildInfo&&)>& each);
    virtual BuildInfo get(const std::string& id) = 0;  // every property
    virtual void cancel(const std::string& id) = 0;
    // BuildManager1.Retry: a new build with id's spec, in submitter's name
    // (the token's; needs submit-for, as Submit does); returns the new id.
    virtual std::string retry(const std::string& id, const std::string& submitter) = 0;
    virtual std::string kickstart(const std::string& id) = 0;  // the flattened text it ran with
    virtual HostInfo host() = 0;  // capabilities and load; url/healthy left to the caller
};

// Talks to org.imagebuild.Agent1 on the system bus through the one agent
// client (common/agent_client.hpp). Clients, each with its connection, are
// kept between calls in a small pool: a call takes one (or opens one when
// all are busy, up to 32 open: past that it waits for one to come free),
// uses it alone and gives it back, so no two threads use a pooled sd-bus
// connection at once, a call pays the bus handshake only the first time,
// and a burst of calls stays within the bus's connections per user. (The
// list cache's own connection is used under its mutex.)
std::unique_ptr<LocalAgent> makeDbusLocalAgent();
// The bus connections that pool holds open at most.
inline constexpr std::size_t kAgentConnections = 32;

}  // namespace imagebuild::forwarder
