#include "agent/polkit.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>

namespace imagebuild::agent {

namespace {

using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
using AuthResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;
constexpr std::uint32_t kAllowUserInteraction = 1;

// sdbus-c++ 1.2 has no accessor for the allow-interactive-authorization
// flag; reach the sd_bus_message through the protected member, the one
// well-defined way to read it (a member pointer taken in a derived class).
struct RawMessage : sdbus::Message {
    static sd_bus_message* of(const sdbus::Message& m) {
        return static_cast<sd_bus_message*>(m.*(&RawMessage::msg_));
    }
};

}  // namespace

Caller callerOf(const sdbus::Message& call) {
    Caller c;
    c.busName = call.getSender();
    c.uid = call.getCredsUid();
    c.allowInteractive =
        sd_bus_message_get_allow_interactive_authorization(RawMessage::of(call)) > 0;
    return c;
}

Polkit::Polkit(sdbus::IConnection& connection)
    : authority_(sdbus::createProxy(connection, "org.freedesktop.PolicyKit1",
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
