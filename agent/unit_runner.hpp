// What the build lifecycle needs from systemd, as a small interface: the
// agent implements it over org.freedesktop.systemd1 (SystemdUnitRunner),
// the unit tests with a fake that records calls and answers on demand.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/build_record.hpp"
#include "agent/unit_settings.hpp"

namespace imagebuild::agent {

class UnitRunner {
public:
    // error is empty on success.
    using Done = std::function<void(const std::string& error)>;
    enum class Presence { kLoaded, kGone, kUnknown };  // kUnknown: systemd did not answer
    using PresenceReply = std::function<void(Presence)>;

    virtual ~UnitRunner() = default;

    // StartTransientUnit / StopUnit, asynchronously.
    virtual void start(const UnitSettings& settings, Done done) = 0;
    virtual void stop(const std::string& unit, Done done) = 0;
    // Report the unit's ActiveState changes to whoever the runner was wired
    // to (BuildLifecycle::onUnitState) until unfollow().
    virtual void follow(const std::string& unit) = 0;
    virtual void unfollow(const std::string& unit) = 0;
    // How a follow()ed service ended, as systemd itself recorded it (its
    // Result, ExecMainCode and ExecMainStatus, the values ExecStopPost=
    // gets as $SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS); nullopt while its
    // main process has not ended or when the agent did not see it end.
    // finishedAt is 0: the caller knows when it asked.
    virtual std::optional<UnitOutcome> endOf(const std::string& unit) = 0;
    // Asks systemd (GetAll of the unit's Service properties) how a
    // follow()ed unit that is still loaded but no longer running ended, so
    // endOf() knows it although the agent did not run when it ended.
    // Blocking; only for reconciling before the loop runs.
    virtual void recallEnd(const std::string& unit) = 0;
    // A fresh question to systemd (GetUnit), asynchronously: is the unit
    // still loaded? Asked before believing a UnitRemoved signal, which a
    // daemon-reload sends for every unit that then comes straight back.
    virtual void checkLoaded(const std::string& unit, PresenceReply reply) = 0;
    // The unit's ActiveState now, or empty if systemd does not know it.
    // Blocking; only for reconciling before the loop runs.
    virtual std::string activeState(const std::string& unit) = 0;
    // When this boot's systemd started (realtime usec; 0 if unknown): a
    // build started before it was running when the host went down.
    // Blocking, like activeState().
    virtual std::uint64_t hostStartedAt() = 0;
};

}  // namespace imagebuild::agent
