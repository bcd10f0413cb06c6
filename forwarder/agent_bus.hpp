// A system-bus connection for calls to the local agent: the agent client's
// pooled connections and its list cache's own one are opened alike.
#pragma once

#include <sdbus-c++/IConnection.h>

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/dbus_names.hpp"

namespace imagebuild::forwarder {

// A call waits at most this long: an agent that cannot start (bad config)
// makes the bus wait 25 s for activation, which no HTTP client should.
inline constexpr auto kAgentCallTimeout = std::chrono::seconds(10);

inline std::unique_ptr<sdbus::IConnection> connectForAgentCalls() {
    auto connection = sdbus::createSystemBusConnection();
    connection->setMethodCallTimeout(kAgentCallTimeout);
    return connection;
}

// The match rule of NameOwnerChanged of the agent's name: an agent that
// starts (again) says nothing of what changed meanwhile. The sender is the
// bus itself, whose name is its unique name too, so sd-bus can match it.
inline std::string agentNameOwnerChangedMatch() {
    return fmt::format(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{}'",
        dbus_names::kBusName);
}

}  // namespace imagebuild::forwarder
