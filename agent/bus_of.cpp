#include "agent/bus_of.hpp"

#include <sdbus-c++/Message.h>

#include <stdexcept>

#include "common/dbus_names.hpp"

namespace imagebuild::agent {

namespace {

struct MessageAccess : sdbus::Message {
    static sd_bus_message* raw(sdbus::Message& message) {
        return static_cast<sd_bus_message*>(message.*(&MessageAccess::msg_));
    }
};

}  // namespace

sd_bus* busOf(sdbus::IObject& object) {
    auto probe = object.createSignal(dbus_names::kManagerInterface, "BuildQueued");
    sd_bus* bus = sd_bus_message_get_bus(MessageAccess::raw(probe));
    if (bus == nullptr) {
        throw std::runtime_error("sdbus-c++ created a message without a bus");
    }
    return bus;
}

}  // namespace imagebuild::agent
