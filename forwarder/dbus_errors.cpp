#include "forwarder/dbus_errors.hpp"

#include "common/error_table.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

unsigned statusForDbusError(const std::string& name) {
    const auto* row = errorByDbusName(name);
    return row == nullptr ? 500 : row->httpStatus;
}

Response responseForDbusError(const sdbus::Error& error) {
    const auto* row = errorByDbusName(error.getName());
    // The agent failing (or a name no table knows) is this side's 500: logged.
    if (row == nullptr || row->httpStatus == 500) {
        log::error("agent call failed: {}: {}", error.getName(), error.getMessage());
        return jsonError(500, "Internal", "the build agent failed: " + error.getMessage());
    }
    return jsonError(row->httpStatus, std::string(row->httpName), error.getMessage());
}

}  // namespace imagebuild::forwarder
