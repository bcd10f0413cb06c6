// systemd's side of a build: starting, stopping and following transient
// units over org.freedesktop.systemd1, asynchronously, from the agent's one
// event loop. Follows units through systemd's signals (JobRemoved,
// UnitRemoved, PropertiesChanged on the unit and on its Service
// interface); never polls.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/build_record.hpp"
#include "agent/unit_settings.hpp"

namespace imagebuild::agent {

class UnitClient {
public:
    // error is empty on success.
    using Done = std::function<void(const std::string& error)>;
    using JobRemoved = std::function<void(const std::string& unit, const std::string& result)>;
    using UnitGone = std::function<void(const std::string& unit)>;
    using StateChanged = std::function<void(const std::string& activeState)>;

    explicit UnitClient(sdbus::IConnection& connection);

    // Subscribes to systemd's signals (Manager.Subscribe) and routes
    // JobRemoved/UnitRemoved to the handlers. Call before starting units.
    void subscribe(JobRemoved onJobRemoved, UnitGone onUnitRemoved);

    void start(const UnitSettings& settings, Done done);
    void stop(const std::string& unit, Done done);

    // Calls onChange with the unit's ActiveState whenever systemd reports a
    // change, for as long as the returned slot lives. Costs no call to the
    // bus: one match, added by the constructor, brings every unit's
    // PropertiesChanged, and watch() only files the unit under its path.
    [[nodiscard]] sdbus::Slot watch(const std::string& unit, StateChanged onChange);

    // How a watched service's main process ended, from the Service
    // interface's PropertiesChanged (Result, ExecMainCode, ExecMainStatus),
    // which systemd sends before the unit's own and before UnitRemoved:
    // systemd's record of the end, kept while the unit is watched, across
    // daemon-reload and daemon-reexec. nullopt until the main process ended.
    std::optional<UnitOutcome> endOf(const std::string& unit) const;

    // endOf() from a fresh GetAll of the watched unit's Service properties:
    // the end of a unit that ended while no agent ran, asked while systemd
    // still has the unit (loaded, inactive or failed). Blocking; only for
    // reconciling at start. An error leaves endOf() as it was.
    void recallEnd(const std::string& unit);

    // The unit's ActiveState now, or empty if systemd does not know it.
    // Blocking; only for reconciling at start, before the loop runs.
    std::string activeState(const std::string& unit);

    static std::string unitObjectPath(const std::string& unit);

private:
    void onUnitPropertiesChanged(sdbus::Message& message);
    void onServicePropertiesChanged(sdbus::Message& message);
    void takeServiceProperties(const std::string& path,
                               const std::map<std::string, sdbus::Variant>& properties);

    struct ServiceEnd {
        std::string result;       // Result
        std::int32_t code = 0;    // ExecMainCode: CLD_EXITED, CLD_KILLED, CLD_DUMPED; 0 running
        std::int32_t status = 0;  // ExecMainStatus: exit status or signal number
    };

    sdbus::IConnection& connection_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::multimap<std::string, StateChanged> watchers_;  // by unit object path
    std::map<std::string, ServiceEnd> serviceEnds_;      // of watched units, by path
    sdbus::Slot unitChanges_;
    sdbus::Slot serviceChanges_;
};

}  // namespace imagebuild::agent
