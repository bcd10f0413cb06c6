// The agent's one event loop: sdbus-c++ embedded through its poll data, plus
// the idle timer. Exits (after giving up the bus name) once the manager has
// been idle for idleExitSec; the bus activates a fresh agent on the next call.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>

#include "agent/service_activity.hpp"

namespace imagebuild::agent {

// Something else the loop waits for besides the bus (the stall watcher): an
// fd (negative: none) and a deadline; dispatch() when either is due.
class LoopSource {
public:
    virtual int fd() const = 0;
    virtual short events() const = 0;
    // CLOCK_MONOTONIC usec; UINT64_MAX: none.
    virtual std::uint64_t deadline() const = 0;
    virtual void dispatch() = 0;

protected:
    ~LoopSource() = default;
};

// Returns the process exit code. idleExitSec 0: never exit on idle.
int runEventLoop(sdbus::IConnection& connection, const ServiceActivity& manager,
                 std::uint64_t idleExitSec, const char* busName, LoopSource* source = nullptr);

// The monotonic clock in usec, as LoopSource::deadline() counts it.
std::uint64_t monotonicUSec();

}  // namespace imagebuild::agent
