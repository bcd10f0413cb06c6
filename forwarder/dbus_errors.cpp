#include "forwarder/dbus_errors.hpp"

#include <map>

#include "common/dbus_names.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

namespace {

struct Mapping {
    unsigned status;
    const char* name;  // the "error" field of the JSON body
};

const std::map<std::string, Mapping>& table() {
    namespace e = dbus_names::error;
    static const std::map<std::string, Mapping> mappings{
        {e::kNotFound, {404, "NotFound"}},
        {e::kInvalidSpec, {400, "InvalidSpec"}},
        {e::kUnsupported, {422, "Unsupported"}},
        {e::kAccessDenied, {403, "AccessDenied"}},
        {e::kQueueFull, {503, "QueueFull"}},
        {e::kAlreadyFinished, {409, "AlreadyFinished"}},
        // The host's disk is full or below [host] min_free: 507 Insufficient Storage.
        {e::kNoSpace, {507, "NoSpace"}},
        // The agent answers, but its configuration is broken: an operator's job.
        {e::kConfigInvalid, {503, "ConfigInvalid"}},
        // The agent is not installed or could not be activated on this host.
        {"org.freedesktop.DBus.Error.ServiceUnknown", {503, "AgentUnavailable"}},
        {"org.freedesktop.DBus.Error.FileNotFound", {503, "AgentUnavailable"}},
        {"org.freedesktop.systemd1.NoSuchUnit", {503, "AgentUnavailable"}},
        {"org.freedesktop.systemd1.UnitMasked", {503, "AgentUnavailable"}},
        {"org.freedesktop.DBus.Error.Spawn.ChildExited", {503, "AgentUnavailable"}},
        {"org.freedesktop.DBus.Error.NoReply", {504, "AgentTimeout"}},
        {"org.freedesktop.DBus.Error.TimedOut", {503, "AgentUnavailable"}},
    };
    return mappings;
}

}  // namespace

unsigned statusForDbusError(const std::string& name) {
    auto it = table().find(name);
    return it == table().end() ? 500 : it->second.status;
}

Response responseForDbusError(const sdbus::Error& error) {
    auto it = table().find(error.getName());
    if (it == table().end()) {
        log::error("agent call failed: {}: {}", error.getName(), error.getMessage());
        return jsonError(500, "Internal", "the build agent failed: " + error.getMessage());
    }
    return jsonError(it->second.status, it->second.name, error.getMessage());
}

}  // namespace imagebuild::forwarder
