// The one client of the local agent (org.imagebuild.Agent1 on the system
// bus), used by imagebuildctl (ctl/dbus_backend.cpp) and the forwarder
// (forwarder/agent_client.cpp): the calls of BuildManager1 and Build1 over
// one connection, through the proxies sdbus-c++-xml2cpp generates from
// dbus/*.xml, and the one reading of their answers (common/build_info,
// common/host_info). Failures are sdbus::Error carrying the agent's named
// error (org.imagebuild.Error.*); each caller maps them with
// common/error_table. One thread at a time per client.
#pragma once

#include <sdbus-c++/IConnection.h>
#include <sdbus-c++/Types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/build_info.hpp"
#include "common/host_info.hpp"
#include "common/list_builds.hpp"

namespace imagebuild {

using DbusSpec = std::map<std::string, sdbus::Variant>;

struct AgentClientOptions {
    // Let polkit ask the caller's user (a password at a terminal): every
    // call carries ALLOW_INTERACTIVE_AUTHORIZATION, and the calls that may
    // need it (submit, retry, cancel, pin) wait as long as a person does.
    bool interactive = false;
    // How long any other call waits; unset: sd-bus's default (25 s).
    std::optional<std::chrono::microseconds> callTimeout;
};

class AgentClient {
public:
    // Connects to the system bus. Throws sdbus::Error.
    explicit AgentClient(AgentClientOptions options = {});
    ~AgentClient();
    AgentClient(const AgentClient&) = delete;
    AgentClient& operator=(const AgentClient&) = delete;

    // BuildManager1.Submit; returns the new build's id.
    std::string submit(const DbusSpec& spec);
    // BuildManager1.Retry: a new build with id's spec; returns its id.
    std::string retry(const std::string& id, const DbusSpec& options = {});
    void cancel(const std::string& id);
    void setPinned(const std::string& id, bool pinned);

    // BuildManager1.ListBuilds, each row handed on as it is decoded
    // (common/list_builds.hpp). The row is reused: copy what you keep.
    void listRows(const BuildListFilter& filter,
                  const std::function<void(const BuildListRow&)>& each);
    // Every property of the build (Build1 via GetBuild).
    BuildInfo get(const std::string& id);
    // The flattened kickstart the build ran with.
    std::string kickstart(const std::string& id);
    // What the agent says of its host (url, status, health are the caller's).
    HostInfo host();

    // BuildFinished signals, handed to `finished` while dispatch() runs. The
    // match is added on the first call (an AddMatch round trip): most
    // callers only call.
    void onFinished(std::function<void(const std::string& id)> finished);
    // Handles what has arrived; unless that set `flag`, waits up to
    // timeoutMs for more and handles that too.
    void dispatchUntil(const bool& flag, int timeoutMs);
    // Handles what arrived while the client was idle; false if the bus
    // closed the connection (a pool drops such a client).
    bool stillOpen();

private:
    class ManagerProxy;
    template <typename Call>
    auto privileged(Call&& call);

    AgentClientOptions options_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<ManagerProxy> manager_;
};

}  // namespace imagebuild
