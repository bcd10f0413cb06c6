// The agent's D-Bus errors as HTTP responses, by the one error table
// (common/error_table.hpp).
#pragma once

#include <sdbus-c++/Error.h>

#include <string>

#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

// Named errors keep their message; anything unknown is logged and becomes 500.
Response responseForDbusError(const sdbus::Error& error);
unsigned statusForDbusError(const std::string& name);

}  // namespace imagebuild::forwarder
