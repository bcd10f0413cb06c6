// POST /v1/builds bodies: a JSON object whose keys are the D-Bus Submit spec
// keys (type, arch, release, kickstart, name, notify, timeout_sec, labels,
// webhook, priority),
// checked here only as far as routing needs; the agent validates the rest.
#pragma once

#include <stdexcept>
#include <string>

#include "forwarder/agent_client.hpp"

namespace imagebuild::forwarder {

struct SubmitSpec {
    std::string type;
    std::string arch;
    std::string release;
    std::int32_t priority = 0;  // the body's "priority", range-checked by the agent
    DbusSpec dbus;              // what Submit gets
};

// Bad input: the message names the key and what was expected.
class SpecError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

SubmitSpec parseSubmitSpec(const std::string& body);
// Records who submitted over HTTP (the token's name) as the agent's spec key
// "submitter" (the agent lets the forwarder's user do so: polkit action
// org.imagebuild.submit-for). A body cannot set it.
void setSubmitter(SubmitSpec& spec, const std::string& name);

}  // namespace imagebuild::forwarder
