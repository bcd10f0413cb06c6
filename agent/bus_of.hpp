// The sd_bus* under an sdbus-c++ connection, for what sdbus-c++ 1.2 cannot
// express (fallback objects, node enumerators: build_objects.hpp). 1.2 has
// no accessor for it; every message it creates carries it, so this creates
// a signal (never sent) and asks sd-bus for the message's bus. The
// message's sd_bus_message* is a protected member of sdbus::Message, which
// a derived class may name; nothing else of sdbus-c++ is touched.
#pragma once

#include <sdbus-c++/IObject.h>
#include <systemd/sd-bus.h>

namespace imagebuild::agent {

// Borrowed: valid as long as the connection of `object`.
sd_bus* busOf(sdbus::IObject& object);

}  // namespace imagebuild::agent
