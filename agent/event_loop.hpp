// The agent's one event loop: sdbus-c++ embedded through its poll data, plus
// the idle timer. Exits (after giving up the bus name) once the manager has
// been idle for idleExitSec; the bus activates a fresh agent on the next call.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>

#include "agent/service_activity.hpp"

namespace imagebuild::agent {

// Returns the process exit code. idleExitSec 0: never exit on idle.
int runEventLoop(sdbus::IConnection& connection, const ServiceActivity& manager,
                 std::uint64_t idleExitSec, const char* busName);

}  // namespace imagebuild::agent
