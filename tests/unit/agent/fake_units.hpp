// A UnitRunner without systemd, for the tests of the lifecycle and what
// sits on it: it records what is asked of systemd and answers when the test
// says so.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/unit_runner.hpp"

namespace imagebuild::testing {

using agent::UnitOutcome;
using agent::UnitSettings;

class FakeUnits final : public agent::UnitRunner {
public:
    void start(const UnitSettings& settings, Done done) override {
        started.push_back(settings.unitName);
        pendingStarts[settings.unitName] = std::move(done);
    }
    void stop(const std::string& unit, Done done) override {
        stopped.push_back(unit);
        done(stopError);
    }
    void follow(const std::string& unit) override { followed.insert(unit); }
    void unfollow(const std::string& unit) override { followed.erase(unit); }
    void checkLoaded(const std::string& unit, PresenceReply reply) override {
        checked.push_back(unit);
        reply(loaded.count(unit) ? Presence::kLoaded : Presence::kGone);
    }
    std::uint64_t hostStartedAt() override { return hostStart; }
    std::optional<UnitOutcome> endOf(const std::string& unit) override {
        auto it = ends.find(unit);
        return it == ends.end() ? std::nullopt : std::optional<UnitOutcome>(it->second);
    }
    void recallEnd(const std::string& unit) override {
        recalled.push_back(unit);
        if (auto it = endsKnownToSystemd.find(unit); it != endsKnownToSystemd.end()) {
            ends[unit] = it->second;
        }
    }
    std::string activeState(const std::string& unit) override {
        auto it = states.find(unit);
        return it == states.end() ? std::string() : it->second;
    }

    // Answers the StartTransientUnit call of unit.
    void answerStart(const std::string& unit, const std::string& error = {}) {
        auto done = std::move(pendingStarts.at(unit));
        pendingStarts.erase(unit);
        done(error);
    }

    std::vector<std::string> started, stopped, checked, recalled;
    std::map<std::string, Done> pendingStarts;
    std::set<std::string> followed, loaded;
    std::map<std::string, std::string> states;              // what activeState() says
    std::map<std::string, UnitOutcome> ends;                // what endOf() says
    std::map<std::string, UnitOutcome> endsKnownToSystemd;  // what recallEnd() finds
    std::string stopError;
    std::uint64_t hostStart = 0;
};

}  // namespace imagebuild::testing
