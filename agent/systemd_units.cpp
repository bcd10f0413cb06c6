#include "agent/systemd_units.hpp"

namespace imagebuild::agent {

SystemdUnitRunner::SystemdUnitRunner(sdbus::IConnection& connection, UnitClient& units)
    : units_(units),
      systemd_(sdbus::createProxy(connection, "org.freedesktop.systemd1",
                                  "/org/freedesktop/systemd1")) {}

void SystemdUnitRunner::start(const UnitSettings& settings, Done done) {
    units_.start(settings, std::move(done));
}

void SystemdUnitRunner::stop(const std::string& unit, Done done) {
    units_.stop(unit, std::move(done));
}

void SystemdUnitRunner::follow(const std::string& unit) {
    watches_[unit] = units_.watch(unit, [this, unit](const std::string& activeState) {
        if (onStateChanged_) {
            onStateChanged_(unit, activeState);
        }
    });
}

void SystemdUnitRunner::checkLoaded(const std::string& unit, PresenceReply reply) {
    systemd_->callMethodAsync("GetUnit")
        .onInterface("org.freedesktop.systemd1.Manager")
        .withArguments(unit)
        .uponReplyInvoke(
            [reply = std::move(reply)](const sdbus::Error* error, const sdbus::ObjectPath&) {
                if (error == nullptr) {
                    reply(Presence::kLoaded);
                } else if (error->getName() == "org.freedesktop.systemd1.NoSuchUnit") {
                    reply(Presence::kGone);
                } else {
                    reply(Presence::kUnknown);
                }
            });
}

std::string SystemdUnitRunner::activeState(const std::string& unit) {
    return units_.activeState(unit);
}

// systemd's own start (UserspaceTimestamp), not the kernel's boot: a
// container's systemd starts and stops with its host, and its boot id is its
// kernel's. Kept across daemon-reexec.
std::uint64_t SystemdUnitRunner::hostStartedAt() {
    try {
        sdbus::Variant v = systemd_->getProperty("UserspaceTimestamp")
                               .onInterface("org.freedesktop.systemd1.Manager");
        return v.get<std::uint64_t>();
    } catch (const sdbus::Error&) {
        return 0;
    }
}

}  // namespace imagebuild::agent
