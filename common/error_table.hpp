// The one table of the errors that cross a boundary: each D-Bus error name
// with the HTTP status and JSON error name the forwarder answers it with, the
// exit code imagebuildctl ends with, and the sentence a person reads. The
// agent raises the names, the forwarder and imagebuildctl look them up here;
// so a failure means the same on the bus, over HTTP and in a script.
//
// A new error is one row in error_table.cpp (and its name in dbus_names.hpp
// if the agent raises it); test_error_table.cpp walks every row through
// every boundary and checks the documentation lists it.
#pragma once

#include <span>
#include <string_view>

namespace imagebuild {

struct ErrorRow {
    std::string_view dbusName;  // org.imagebuild.Error.*, org.freedesktop.DBus.Error.*, ...
    unsigned httpStatus;        // what the forwarder answers
    std::string_view httpName;  // the "error" field of the forwarder's JSON body
    int exitCode;               // imagebuildctl's exit status (exit_codes.hpp)
    std::string_view sentence;  // what it means to a person; the message follows it
};

std::span<const ErrorRow> errorRows();

// The row of a D-Bus error name, or nullptr for a name no boundary knows.
// Any org.freedesktop.systemd1.* name is bus activation failing through
// systemd (the agent's unit masked, missing or failed).
const ErrorRow* errorByDbusName(std::string_view name);

// The first row answered with this JSON error name, or nullptr. Rows that
// share an HTTP name share its status and exit code (the table test checks).
const ErrorRow* errorByHttpName(std::string_view name);

}  // namespace imagebuild
