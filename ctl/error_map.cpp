#include "ctl/error_map.hpp"

#include <fmt/format.h>

#include <map>

#include "common/dbus_names.hpp"
#include "ctl/exit_codes.hpp"

namespace imagebuild::ctl {

namespace {

namespace e = dbus_names::error;

constexpr const char* kNotRunning =
    "The imagebuild agent is not running on this host and could not be started "
    "(bus name org.imagebuild.Agent1)";

struct Known {
    int exitCode;
    const char* sentence;
};

const std::map<std::string, Known>& dbusTable() {
    static const std::map<std::string, Known> table{
        {e::kInvalidSpec, {kExitUsage, "The build request is invalid"}},
        {e::kUnsupported, {kExitUsage, "This host does not build that"}},
        {e::kNotFound, {kExitNotFound, "No such build"}},
        {e::kAccessDenied, {kExitAccessDenied, "Access denied"}},
        {e::kQueueFull, {kExitFailure, "The build queue of this host is full; try again later"}},
        {e::kAlreadyFinished, {kExitFailure, "The build has already ended"}},
        {e::kInternal, {kExitFailure, "The imagebuild agent failed"}},
        {e::kNoSpace, {kExitNoSpace, "The build host is out of disk space"}},
        {e::kConfigInvalid,
         {kExitConfigInvalid, "The build host's imagebuild configuration is invalid"}},
        {"org.freedesktop.DBus.Error.ServiceUnknown", {kExitUnreachable, kNotRunning}},
        {"org.freedesktop.DBus.Error.NameHasNoOwner", {kExitUnreachable, kNotRunning}},
        {"org.freedesktop.DBus.Error.Spawn.Failed", {kExitUnreachable, kNotRunning}},
        {"org.freedesktop.DBus.Error.Spawn.ChildExited", {kExitUnreachable, kNotRunning}},
        {"org.freedesktop.DBus.Error.Spawn.ServiceNotFound", {kExitUnreachable, kNotRunning}},
        {"org.freedesktop.DBus.Error.NoReply",
         {kExitUnreachable, "The imagebuild agent did not answer in time"}},
        {"org.freedesktop.DBus.Error.Timeout",
         {kExitUnreachable, "The imagebuild agent did not answer in time"}},
        {"org.freedesktop.DBus.Error.Disconnected",
         {kExitUnreachable, "The connection to the system bus was lost"}},
        {"org.freedesktop.DBus.Error.NoServer",
         {kExitUnreachable, "The system bus is not running"}},
        {"org.freedesktop.DBus.Error.FileNotFound",
         {kExitUnreachable, "The system bus is not running"}},
        {"org.freedesktop.DBus.Error.AccessDenied",
         {kExitAccessDenied, "The bus policy does not allow this call"}},
        {"org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
         {kExitAccessDenied, "Authentication is required; run it on a terminal or as root"}},
        {"org.freedesktop.DBus.Error.UnknownObject", {kExitNotFound, "No such build"}},
        {"org.freedesktop.DBus.Error.UnknownMethod",
         {kExitFailure, "The imagebuild agent does not know this call (is it an older version?)"}},
        {"org.freedesktop.DBus.Error.InvalidArgs", {kExitUsage, "The agent refused the arguments"}},
    };
    return table;
}

std::string join(const char* sentence, const std::string& message) {
    return message.empty() ? std::string(sentence) : fmt::format("{}: {}", sentence, message);
}

}  // namespace

MappedError mapDbusError(const std::string& name, const std::string& message) {
    if (auto it = dbusTable().find(name); it != dbusTable().end()) {
        return {it->second.exitCode, join(it->second.sentence, message)};
    }
    // Bus activation goes through systemd; when it cannot start the agent's
    // unit (masked, missing, failed), the bus passes systemd's error on.
    if (name.rfind("org.freedesktop.systemd1.", 0) == 0) {
        return {kExitUnreachable, join(kNotRunning, message)};
    }
    // sdbus-c++ reports a failed bus connection as its own error name.
    if (name.rfind("org.sdbuscpp.", 0) == 0 && (message.find("bus") != std::string::npos ||
                                                message.find("connect") != std::string::npos)) {
        return {kExitUnreachable, join("Cannot connect to the system bus", message)};
    }
    return {kExitFailure, fmt::format("The imagebuild agent failed ({}){}", name,
                                      message.empty() ? std::string() : ": " + message)};
}

MappedError mapHttpError(int status, const std::string& errorName, const std::string& message,
                         const std::string& url) {
    if (!errorName.empty() && dbusTable().count(errorName) && status != 503) {
        return mapDbusError(errorName, message);
    }
    auto detail = message.empty() ? errorName : message;
    auto with = [&](const char* sentence) {
        return join(sentence, detail);
    };
    switch (status) {
        case 400:
        case 413:
        case 422:
            return {kExitUsage, with("The forwarder refused the request")};
        case 401:
            return {kExitAccessDenied,
                    with("The forwarder wants a token (--token-file or $IMAGEBUILD_TOKEN)")};
        case 403:
            return {kExitAccessDenied, with("Access denied")};
        case 404:
            return {kExitNotFound, with("Not found")};
        case 409:
            return {kExitFailure, with("Conflict")};
        case 507:
            return {kExitNoSpace, with("The build host is out of disk space")};
        case 503:
            if (errorName == "ConfigInvalid") {
                return {kExitConfigInvalid,
                        with("The build host's imagebuild configuration is invalid")};
            }
            return {kExitUnreachable,
                    with(fmt::format("The build host behind {} is not reachable", url).c_str())};
        default:
            return {kExitFailure,
                    join(fmt::format("The forwarder at {} answered HTTP {}", url, status).c_str(),
                         detail)};
    }
}

}  // namespace imagebuild::ctl
