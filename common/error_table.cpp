#include "common/error_table.hpp"

#include <algorithm>
#include <array>

#include "common/dbus_names.hpp"
#include "common/exit_codes.hpp"

namespace imagebuild {

namespace {

namespace e = dbus_names::error;

constexpr std::string_view kNotRunning =
    "The imagebuild agent is not running on this host and could not be started "
    "(bus name org.imagebuild.Agent1)";
constexpr std::string_view kNoAnswer = "The imagebuild agent did not answer in time";
constexpr std::string_view kNoBus = "The system bus is not running";
constexpr std::string_view kSystemdPrefix = "org.freedesktop.systemd1.";

// clang-format off
constexpr std::array kRows{
    // The agent's own errors (dbus/org.imagebuild.BuildManager1.xml).
    ErrorRow{e::kInvalidSpec,     400, "InvalidSpec",     kExitUsage,        "The build request is invalid"},
    ErrorRow{e::kUnsupported,     422, "Unsupported",     kExitUsage,        "This host does not build that"},
    ErrorRow{e::kNotFound,        404, "NotFound",        kExitNotFound,     "No such build"},
    ErrorRow{e::kAccessDenied,    403, "AccessDenied",    kExitAccessDenied, "Access denied"},
    ErrorRow{e::kQueueFull,       503, "QueueFull",       kExitFailure,      "The build queue of this host is full; try again later"},
    ErrorRow{e::kAlreadyFinished, 409, "AlreadyFinished", kExitFailure,      "The build has already ended"},
    ErrorRow{e::kInternal,        500, "Internal",        kExitFailure,      "The imagebuild agent failed"},
    // Side RPMs uploaded with a Submit (--rpm).
    ErrorRow{e::kInvalidPackage,  400, "InvalidPackage",  kExitUsage,        "An uploaded package was refused"},
    ErrorRow{e::kUploadTooLarge,  413, "UploadTooLarge",  kExitUsage,        "The upload is larger than this host takes"},
    // The host's disk is full or below [host] min_free: 507 Insufficient Storage.
    ErrorRow{e::kNoSpace,         507, "NoSpace",         kExitNoSpace,      "The build host is out of disk space"},
    // The agent answers, but its configuration is broken: an operator's job.
    ErrorRow{e::kConfigInvalid,   503, "ConfigInvalid",   kExitConfigInvalid, "The build host's imagebuild configuration is invalid"},
    // The bus, or systemd activating the agent, failing on the way to it.
    ErrorRow{"org.freedesktop.DBus.Error.ServiceUnknown",        503, "AgentUnavailable", kExitUnreachable, kNotRunning},
    ErrorRow{"org.freedesktop.DBus.Error.NameHasNoOwner",        503, "AgentUnavailable", kExitUnreachable, kNotRunning},
    ErrorRow{"org.freedesktop.DBus.Error.Spawn.Failed",          503, "AgentUnavailable", kExitUnreachable, kNotRunning},
    ErrorRow{"org.freedesktop.DBus.Error.Spawn.ChildExited",     503, "AgentUnavailable", kExitUnreachable, kNotRunning},
    ErrorRow{"org.freedesktop.DBus.Error.Spawn.ServiceNotFound", 503, "AgentUnavailable", kExitUnreachable, kNotRunning},
    ErrorRow{"org.freedesktop.systemd1.NoSuchUnit",              503, "AgentUnavailable", kExitUnreachable, kNotRunning},
    ErrorRow{"org.freedesktop.systemd1.UnitMasked",              503, "AgentUnavailable", kExitUnreachable, kNotRunning},
    ErrorRow{"org.freedesktop.DBus.Error.NoServer",              503, "AgentUnavailable", kExitUnreachable, kNoBus},
    ErrorRow{"org.freedesktop.DBus.Error.FileNotFound",          503, "AgentUnavailable", kExitUnreachable, kNoBus},
    ErrorRow{"org.freedesktop.DBus.Error.Disconnected",          503, "AgentUnavailable", kExitUnreachable, "The connection to the system bus was lost"},
    ErrorRow{"org.freedesktop.DBus.Error.NoReply",               504, "AgentTimeout",     kExitUnreachable, kNoAnswer},
    ErrorRow{"org.freedesktop.DBus.Error.Timeout",               504, "AgentTimeout",     kExitUnreachable, kNoAnswer},
    ErrorRow{"org.freedesktop.DBus.Error.TimedOut",              503, "AgentUnavailable", kExitUnreachable, kNoAnswer},
    ErrorRow{"org.freedesktop.DBus.Error.AccessDenied",          403, "AccessDenied",     kExitAccessDenied, "The bus policy does not allow this call"},
    ErrorRow{"org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", 403, "AccessDenied", kExitAccessDenied, "Authentication is required; run it on a terminal or as root"},
    ErrorRow{"org.freedesktop.DBus.Error.UnknownObject",         404, "NotFound",         kExitNotFound,    "No such build"},
    ErrorRow{"org.freedesktop.DBus.Error.UnknownMethod",         500, "Internal",         kExitFailure,     "The imagebuild agent does not know this call (is it an older version?)"},
    ErrorRow{"org.freedesktop.DBus.Error.InvalidArgs",           400, "InvalidArgs",      kExitUsage,       "The agent refused the arguments"},
};
// clang-format on

bool startsWith(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

const ErrorRow* find(auto matches) {
    auto it = std::find_if(kRows.begin(), kRows.end(), matches);
    return it == kRows.end() ? nullptr : &*it;
}

}  // namespace

std::span<const ErrorRow> errorRows() {
    return kRows;
}

const ErrorRow* errorByDbusName(std::string_view name) {
    if (auto* row = find([name](const ErrorRow& r) { return r.dbusName == name; })) {
        return row;
    }
    if (startsWith(name, kSystemdPrefix)) {
        return errorByDbusName("org.freedesktop.DBus.Error.ServiceUnknown");
    }
    return nullptr;
}

const ErrorRow* errorByHttpName(std::string_view name) {
    return find([name](const ErrorRow& r) { return r.httpName == name; });
}

}  // namespace imagebuild
