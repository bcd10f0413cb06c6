// A system-bus connection for calls to the local agent: the agent client's
// pooled connections and its list cache's own one are opened alike.
#pragma once

#include <sdbus-c++/IConnection.h>

#include <chrono>
#include <memory>

namespace imagebuild::forwarder {

// A call waits at most this long: an agent that cannot start (bad config)
// makes the bus wait 25 s for activation, which no HTTP client should.
inline constexpr auto kAgentCallTimeout = std::chrono::seconds(10);

inline std::unique_ptr<sdbus::IConnection> connectForAgentCalls() {
    auto connection = sdbus::createSystemBusConnection();
    connection->setMethodCallTimeout(kAgentCallTimeout);
    return connection;
}

}  // namespace imagebuild::forwarder
