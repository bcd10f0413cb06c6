// The listening socket: systemd's (socket activation) when there is one,
// else a socket bound to ADDRESS:PORT, for development outside systemd.
#pragma once

#include <string>

#include "common/unique_fd.hpp"

namespace imagebuild::forwarder {

// Throws std::runtime_error naming the address or the activation problem.
UniqueFd takeListenSocket(const std::string& fallbackAddress);
UniqueFd bindListenSocket(const std::string& address);

}  // namespace imagebuild::forwarder
