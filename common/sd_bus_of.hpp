// The sd_bus* under an sdbus-c++ connection, for the few things sdbus-c++
// 1.2 cannot say itself: a fallback vtable and node enumerator (the agent's
// build objects), the ALLOW_INTERACTIVE_AUTHORIZATION flag (set per bus with
// sd_bus_set_allow_interactive_authorization(), which sd-bus copies into
// every method call made on that bus; read from the call being dispatched
// with sd_bus_get_current_message()).
//
// How, with public API only: 1.2 has no accessor for the bus and cannot
// adopt one made elsewhere, but MethodCall::send(callback, userdata,
// timeout, floating_slot) takes a plain sd-bus message handler. So this
// sends one GetId call to the bus daemon with such a handler, whose reply
// message, an sd_bus_message*, names its bus (sd_bus_message_get_bus).
// Waiting for that reply dispatches what arrives before it: call this
// right after connecting, before the connection takes a name or serves an
// object. Throws sdbus::Error.
#pragma once

#include <sdbus-c++/IConnection.h>
#include <systemd/sd-bus.h>

namespace imagebuild {

// Borrowed: valid as long as `connection`.
sd_bus* sdBusOf(sdbus::IConnection& connection);

}  // namespace imagebuild
