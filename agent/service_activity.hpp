// What the event loop asks of whatever serves the bus (the Manager, or the
// ConfigInvalidManager of an agent whose configuration is broken) to decide
// when to exit on idle.
#pragma once

#include <chrono>

namespace imagebuild::agent {

class ServiceActivity {
public:
    // Nothing in progress that an exit would lose.
    virtual bool idle() const = 0;
    // When the last call came.
    virtual std::chrono::steady_clock::time_point lastActivity() const = 0;

protected:
    ~ServiceActivity() = default;
};

}  // namespace imagebuild::agent
