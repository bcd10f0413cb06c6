// Authorization of D-Bus callers with polkit, asynchronously: the agent's
// loop keeps serving while polkit (and maybe an authentication agent) thinks.
// Root is always allowed; the caller's allow-interactive-authorization flag
// is passed on, so `busctl --allow-interactive-authorization=yes` can prompt.
// Which questions each request asks: access_policy.hpp.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-bus.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace imagebuild::agent {

// Who is calling: taken from the method call message while it is current.
struct Caller {
    std::string busName;
    std::uint32_t uid = 0;
    bool allowInteractive = false;
};

class Polkit {
public:
    // error is empty when allowed; otherwise a sentence saying which action
    // was refused (or why the check failed).
    using Verdict = std::function<void(const std::string& error)>;

    // bus: the connection's own (common/sd_bus_of.hpp).
    Polkit(sdbus::IConnection& connection, sd_bus* bus);

    // Who sent `call`, the method call being dispatched now.
    Caller callerOf(const sdbus::Message& call) const;

    void check(const Caller& caller, const std::string& actionId,
               const std::map<std::string, std::string>& details, Verdict verdict);

private:
    sd_bus* bus_;
    std::unique_ptr<sdbus::IProxy> authority_;
};

}  // namespace imagebuild::agent
