// The lifecycle's UnitRunner over the real systemd: UnitClient's calls and
// signals, with the unit watches it follows kept here by unit name.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/unit_client.hpp"
#include "agent/unit_runner.hpp"

namespace imagebuild::agent {

class SystemdUnitRunner final : public UnitRunner {
public:
    using StateChanged =
        std::function<void(const std::string& unit, const std::string& activeState)>;

    SystemdUnitRunner(sdbus::IConnection& connection, UnitClient& units);
    // Where follow()ed units' ActiveState changes go.
    void onStateChanged(StateChanged handler) { onStateChanged_ = std::move(handler); }

    void start(const UnitSettings& settings, Done done) override;
    void stop(const std::string& unit, Done done) override;
    void follow(const std::string& unit) override;
    void unfollow(const std::string& unit) override { watches_.erase(unit); }
    std::optional<UnitOutcome> endOf(const std::string& unit) override {
        return units_.endOf(unit);
    }
    void recallEnd(const std::string& unit) override { units_.recallEnd(unit); }
    void checkLoaded(const std::string& unit, PresenceReply reply) override;
    std::string activeState(const std::string& unit) override;
    std::uint64_t hostStartedAt() override;

private:
    UnitClient& units_;
    std::unique_ptr<sdbus::IProxy> systemd_;
    StateChanged onStateChanged_;
    std::map<std::string, sdbus::Slot> watches_;
};

}  // namespace imagebuild::agent
