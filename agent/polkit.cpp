#include "agent/polkit.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>

namespace imagebuild::agent {

namespace {

using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
using AuthResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;
constexpr std::uint32_t kAllowUserInteraction = 1;

}  // namespace

// sdbus-c++ 1.2 has no accessor for the allow-interactive-authorization
// flag; sd-bus gives the message it is dispatching (the same call, checked
// by its sender and member) on the bus (common/sd_bus_of.hpp).
Caller Polkit::callerOf(const sdbus::Message& call) const {
    Caller c;
    c.busName = call.getSender();
    c.uid = call.getCredsUid();
    sd_bus_message* current = sd_bus_get_current_message(bus_);
    const char* sender = current != nullptr ? sd_bus_message_get_sender(current) : nullptr;
    const char* member = current != nullptr ? sd_bus_message_get_member(current) : nullptr;
    c.allowInteractive = sender != nullptr && member != nullptr && c.busName == sender &&
                         call.getMemberName() == member &&
                         sd_bus_message_get_allow_interactive_authorization(current) > 0;
    return c;
}

Polkit::Polkit(sdbus::IConnection& connection, sd_bus* bus)
    : bus_(bus),
      authority_(sdbus::createProxy(connection, "org.freedesktop.PolicyKit1",
                                    "/org/freedesktop/PolicyKit1/Authority")) {
    authority_->finishRegistration();
}

void Polkit::check(const Caller& caller, const std::string& actionId,
                   const std::map<std::string, std::string>& details, Verdict verdict) {
    if (caller.uid == 0) {
        verdict({});
        return;
    }
    Subject subject("system-bus-name", std::map<std::string, sdbus::Variant>{
                                           {"name", sdbus::Variant(caller.busName)}});
    std::uint32_t flags = caller.allowInteractive ? kAllowUserInteraction : 0;
    authority_->callMethodAsync("CheckAuthorization")
        .onInterface("org.freedesktop.PolicyKit1.Authority")
        .withArguments(subject, actionId, details, flags, std::string())
        // Interactive authentication may take as long as a person needs.
        .withTimeout(std::chrono::seconds(flags ? 300 : 25))
        .uponReplyInvoke([actionId, verdict = std::move(verdict)](const sdbus::Error* error,
                                                                  const AuthResult& result) {
            if (error != nullptr) {
                verdict(fmt::format("cannot check polkit action {}: {}", actionId,
                                    error->getMessage()));
            } else if (!std::get<0>(result)) {
                verdict(fmt::format("polkit refused action {}{}", actionId,
                                    std::get<1>(result) ? " (authentication is required; call "
                                                          "with interactive authorization allowed)"
                                                        : ""));
            } else {
                verdict({});
            }
        });
}

}  // namespace imagebuild::agent
