#include "common/sd_bus_of.hpp"

#include <poll.h>

#include <sdbus-c++/IProxy.h>
#include <sdbus-c++/Message.h>

#include <cerrno>
#include <chrono>

namespace imagebuild {

namespace {

struct Answer {
    sd_bus* bus = nullptr;
    bool done = false;
};

// The reply's handler, called by sd-bus itself (not sdbus-c++).
int onReply(sd_bus_message* reply, void* userdata, sd_bus_error* /*error*/) {
    auto& answer = *static_cast<Answer*>(userdata);
    answer.bus = sd_bus_message_get_bus(reply);
    answer.done = true;
    return 0;
}

constexpr auto kTimeout = std::chrono::seconds(25);

}  // namespace

sd_bus* sdBusOf(sdbus::IConnection& connection) {
    auto daemon = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    auto call = daemon->createMethodCall("org.freedesktop.DBus", "GetId");
    Answer answer;
    // MethodCall::send's callback is an sd_bus_message_handler_t, passed as void*.
    sd_bus_message_handler_t handler = &onReply;
    call.send(reinterpret_cast<void*>(handler), &answer,
              std::chrono::duration_cast<std::chrono::microseconds>(kTimeout).count(),
              sdbus::floating_slot);
    auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (!answer.done) {
        if (connection.processPendingRequest()) {
            continue;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw sdbus::Error("org.freedesktop.DBus.Error.Timeout",
                               "the bus did not answer GetId");
        }
        auto data = connection.getEventLoopPollData();
        pollfd fd{data.fd, static_cast<short>(data.events), 0};
        if (poll(&fd, 1, 1000) < 0 && errno != EINTR) {
            throw sdbus::Error("org.freedesktop.DBus.Error.IOError", "poll failed");
        }
    }
    if (answer.bus == nullptr) {
        throw sdbus::Error("org.freedesktop.DBus.Error.Failed", "a reply without a bus");
    }
    return answer.bus;
}

}  // namespace imagebuild
