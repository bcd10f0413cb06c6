// Errors from the agent or the forwarder, turned into a sentence a person can
// act on and the exit code (common/exit_codes.hpp) a script can test. Both
// transports read the one error table (common/error_table.hpp), so every verb
// reports the same failure the same way, locally or with --host.
#pragma once

#include <string>

namespace imagebuild::ctl {

struct MappedError {
    int exitCode;
    std::string message;
};

// name: the D-Bus error name (org.imagebuild.Error.*, org.freedesktop.DBus.Error.*,
// or sdbus-c++'s own); message: the one that came with it.
MappedError mapDbusError(const std::string& name, const std::string& message);

// status: the HTTP status; errorName/message: the forwarder's JSON error body
// ({"error": name, "message": text}), empty if it sent none.
MappedError mapHttpError(int status, const std::string& errorName, const std::string& message,
                         const std::string& url);

}  // namespace imagebuild::ctl
