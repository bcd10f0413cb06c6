#include "agent/unit_client.hpp"

#include <systemd/sd-bus.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace imagebuild::agent {

namespace {

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitInterface = "org.freedesktop.systemd1.Unit";
constexpr const char* kServiceInterface = "org.freedesktop.systemd1.Service";

// PropertiesChanged of one interface of any unit object: one match for all.
std::string propertiesChangedMatch(const char* interface) {
    return std::string(
               "type='signal',sender='org.freedesktop.systemd1',"
               "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
               "path_namespace='/org/freedesktop/systemd1/unit',arg0='") +
           interface + "'";
}

using Property = sdbus::Struct<std::string, sdbus::Variant>;
using ExecCommand = sdbus::Struct<std::string, std::vector<std::string>, bool>;
using AuxUnit = sdbus::Struct<std::string, std::vector<Property>>;

std::vector<ExecCommand> execCommand(const std::vector<std::string>& argv) {
    return {ExecCommand(argv.front(), argv, false)};
}

// ExecStopPostEx= (path, argv, flags): both run as root outside the build's
// sandbox ("privileged"): the recorder writes into the build's directory,
// which the build itself may not (so a build cannot forge its outcome); it
// must succeed. End-of-build writes the staging copy and hands mail to
// sendmail, and may fail without changing the unit's result
// ("ignore-failure"). systemd 252 writes ExecStopPostEx= into the transient
// unit file but cannot read it back, so a daemon-reload or daemon-reexec
// drops both. It keeps OnSuccess=/OnFailure= (imagebuild-end@<id>.service,
// imagebuild-end-failed@<id>.service): systemd starts one of them when the
// unit has ended, agent or no agent, and it records the outcome from
// $MONITOR_* and runs the end-of-build step (docs/design.md, "Build
// lifecycle"). Without them, the agent takes the end from systemd's own
// record (the Service interface's Result, ExecMainCode and ExecMainStatus,
// which endOf() keeps) and runs the end-of-build step as a unit of its own.
using ExecCommandEx =
    sdbus::Struct<std::string, std::vector<std::string>, std::vector<std::string>>;
std::vector<ExecCommandEx> stopPostCommands(const UnitSettings& u) {
    std::vector<ExecCommandEx> commands = {ExecCommandEx(u.execStopPost.front(), u.execStopPost,
                                                         std::vector<std::string>{"privileged"})};
    if (!u.execStopPostAfter.empty()) {
        commands.emplace_back(u.execStopPostAfter.front(), u.execStopPostAfter,
                              std::vector<std::string>{"privileged", "ignore-failure"});
    }
    return commands;
}

// LogExtraFields= is aay on the bus: journal fields may hold any bytes.
std::vector<std::vector<std::uint8_t>> asByteArrays(const std::vector<std::string>& fields) {
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto& f : fields) {
        out.emplace_back(f.begin(), f.end());
    }
    return out;
}

std::vector<Property> toProperties(const UnitSettings& u) {
    std::vector<Property> p = {
        {"Description", sdbus::Variant(u.description)},
        {"Slice", sdbus::Variant(u.slice)},
        // exec: the start job fails if the program cannot be executed.
        {"Type", sdbus::Variant(std::string("exec"))},
        {"ExecStart", sdbus::Variant(execCommand(u.execStart))},
        {"Environment", sdbus::Variant(u.environment)},
        {"LogExtraFields", sdbus::Variant(asByteArrays(u.logExtraFields))},
        {"KillMode", sdbus::Variant(std::string("control-group"))},
        {"CollectMode", sdbus::Variant(std::string("inactive-or-failed"))},
        {"TimeoutStopUSec", sdbus::Variant(std::uint64_t{30'000'000})},
    };
    if (!u.workingDirectory.empty()) {
        p.emplace_back("WorkingDirectory", sdbus::Variant(u.workingDirectory));
    }
    if (!u.execStopPost.empty()) {
        p.emplace_back("ExecStopPostEx", sdbus::Variant(stopPostCommands(u)));
    }
    if (!u.onSuccess.empty()) {
        p.emplace_back("OnSuccess", sdbus::Variant(u.onSuccess));
    }
    if (!u.onFailure.empty()) {
        p.emplace_back("OnFailure", sdbus::Variant(u.onFailure));
    }
    if (u.logRateLimitBurst != 0) {
        p.emplace_back("LogRateLimitIntervalUSec", sdbus::Variant(u.logRateLimitIntervalUSec));
        p.emplace_back("LogRateLimitBurst", sdbus::Variant(u.logRateLimitBurst));
    }
    if (u.runtimeMaxUSec != 0) {
        p.emplace_back("RuntimeMaxUSec", sdbus::Variant(u.runtimeMaxUSec));
    }
    if (u.memoryMax) {
        p.emplace_back("MemoryMax", sdbus::Variant(*u.memoryMax));
    }
    if (u.cpuQuotaPerSecUSec) {
        p.emplace_back("CPUQuotaPerSecUSec", sdbus::Variant(*u.cpuQuotaPerSecUSec));
    }
    if (u.tasksMax) {
        p.emplace_back("TasksMax", sdbus::Variant(*u.tasksMax));
    }
    // Confinement of a build: its own block (agent/unit_sandbox.cpp).
    if (u.sandbox) {
        auto sandbox = sandboxProperties(*u.sandbox);
        p.insert(p.end(), sandbox.begin(), sandbox.end());
    }
    if (u.helperSandbox) {
        auto sandbox = helperSandboxProperties(*u.helperSandbox);
        p.insert(p.end(), sandbox.begin(), sandbox.end());
    }
    return p;
}

std::string errorText(const sdbus::Error* error) {
    if (error == nullptr) {
        return {};
    }
    return error->getName() + ": " + error->getMessage();
}

}  // namespace

// A match per unit would be a blocking AddMatch round trip to the bus for
// every build started (sdbus-c++ 1.2 adds matches synchronously only); this
// one is added once, before any unit is started or followed.
UnitClient::UnitClient(sdbus::IConnection& connection)
    : connection_(connection),
      manager_(sdbus::createProxy(connection, kSystemd, kManagerPath)),
      unitChanges_(connection_.addMatch(
          propertiesChangedMatch(kUnitInterface),
          [this](sdbus::Message& message) { onUnitPropertiesChanged(message); })),
      serviceChanges_(connection_.addMatch(
          propertiesChangedMatch(kServiceInterface),
          [this](sdbus::Message& message) { onServicePropertiesChanged(message); })) {}

void UnitClient::subscribe(JobRemoved onJobRemoved, UnitGone onUnitRemoved) {
    manager_->uponSignal("JobRemoved")
        .onInterface(kManagerInterface)
        .call([handler = std::move(onJobRemoved)](
                  std::uint32_t, const sdbus::ObjectPath&, const std::string& unit,
                  const std::string& result) { handler(unit, result); });
    manager_->uponSignal("UnitRemoved")
        .onInterface(kManagerInterface)
        .call([handler = std::move(onUnitRemoved)](const std::string& unit,
                                                   const sdbus::ObjectPath&) { handler(unit); });
    manager_->finishRegistration();
    // systemd only sends unit signals once some client has subscribed.
    manager_->callMethod("Subscribe").onInterface(kManagerInterface);
}

void UnitClient::start(const UnitSettings& settings, Done done) {
    manager_->callMethodAsync("StartTransientUnit")
        .onInterface(kManagerInterface)
        .withArguments(settings.unitName, std::string("fail"), toProperties(settings),
                       std::vector<AuxUnit>{})
        .uponReplyInvoke(
            [done = std::move(done)](const sdbus::Error* error, const sdbus::ObjectPath&) {
                done(errorText(error));
            });
}

void UnitClient::stop(const std::string& unit, Done done) {
    manager_->callMethodAsync("StopUnit")
        .onInterface(kManagerInterface)
        .withArguments(unit, std::string("replace"))
        .uponReplyInvoke(
            [done = std::move(done)](const sdbus::Error* error, const sdbus::ObjectPath&) {
                done(errorText(error));
            });
}

sdbus::Slot UnitClient::watch(const std::string& unit, StateChanged onChange) {
    auto path = unitObjectPath(unit);
    auto it = watchers_.emplace(path, std::move(onChange));
    return sdbus::Slot(this, [this, it, path](void*) {
        watchers_.erase(it);
        if (watchers_.count(path) == 0) {
            serviceEnds_.erase(path);
        }
    });
}

void UnitClient::onUnitPropertiesChanged(sdbus::Message& message) {
    auto [first, last] = watchers_.equal_range(message.getPath());
    if (first == last) {
        return;  // a unit nobody follows
    }
    // Copied: a handler may end its own watch (or another's).
    std::vector<StateChanged> handlers;
    for (auto it = first; it != last; ++it) {
        handlers.push_back(it->second);
    }
    std::string interface;
    std::map<std::string, sdbus::Variant> changed;
    message >> interface >> changed;
    auto it = changed.find("ActiveState");
    if (it != changed.end() && it->second.containsValueOfType<std::string>()) {
        for (const auto& handler : handlers) {
            handler(it->second.get<std::string>());
        }
    }
}

// systemd sends the Service interface's changes of a unit before its Unit
// interface's (so the end is known when ActiveState says inactive or failed)
// and flushes both before UnitRemoved.
void UnitClient::onServicePropertiesChanged(sdbus::Message& message) {
    auto path = message.getPath();
    if (watchers_.count(path) == 0) {
        return;  // a unit nobody follows
    }
    std::string interface;
    std::map<std::string, sdbus::Variant> changed;
    message >> interface >> changed;
    takeServiceProperties(path, changed);
}

void UnitClient::takeServiceProperties(const std::string& path,
                                       const std::map<std::string, sdbus::Variant>& changed) {
    auto& end = serviceEnds_[path];
    if (auto it = changed.find("Result");
        it != changed.end() && it->second.containsValueOfType<std::string>()) {
        end.result = it->second.get<std::string>();
    }
    if (auto it = changed.find("ExecMainCode");
        it != changed.end() && it->second.containsValueOfType<std::int32_t>()) {
        end.code = it->second.get<std::int32_t>();
    }
    if (auto it = changed.find("ExecMainStatus");
        it != changed.end() && it->second.containsValueOfType<std::int32_t>()) {
        end.status = it->second.get<std::int32_t>();
    }
}

// As systemd hands them to ExecStopPost=: $EXIT_CODE exited/killed/dumped,
// $EXIT_STATUS the status or the signal's name without "SIG".
std::optional<UnitOutcome> UnitClient::endOf(const std::string& unit) const {
    auto it = serviceEnds_.find(unitObjectPath(unit));
    if (it == serviceEnds_.end() || it->second.result.empty()) {
        return std::nullopt;
    }
    const auto& end = it->second;
    UnitOutcome outcome;
    outcome.serviceResult = end.result;
    if (end.code == CLD_EXITED) {
        outcome.exitCode = "exited";
        outcome.exitStatus = std::to_string(end.status);
    } else if (end.code == CLD_KILLED || end.code == CLD_DUMPED) {
        outcome.exitCode = end.code == CLD_KILLED ? "killed" : "dumped";
        const char* name = sigabbrev_np(end.status);
        outcome.exitStatus = name ? name : std::to_string(end.status);
    } else {
        return std::nullopt;  // the main process has not ended
    }
    return outcome;
}

void UnitClient::recallEnd(const std::string& unit) {
    auto path = unitObjectPath(unit);
    if (watchers_.count(path) == 0) {
        return;  // kept only for followed units
    }
    std::map<std::string, sdbus::Variant> properties;
    try {
        auto proxy = sdbus::createProxy(connection_, kSystemd, path);
        proxy->callMethod("GetAll")
            .onInterface("org.freedesktop.DBus.Properties")
            .withArguments(std::string(kServiceInterface))
            .storeResultsTo(properties);
    } catch (const sdbus::Error&) {
        return;  // gone meanwhile: nothing to recall
    }
    takeServiceProperties(path, properties);
}

std::string UnitClient::activeState(const std::string& unit) {
    sdbus::ObjectPath path;
    try {
        manager_->callMethod("GetUnit")
            .onInterface(kManagerInterface)
            .withArguments(unit)
            .storeResultsTo(path);
    } catch (const sdbus::Error&) {
        return {};  // NoSuchUnit: not loaded (never started, or collected)
    }
    auto proxy = sdbus::createProxy(connection_, kSystemd, path);
    sdbus::Variant state = proxy->getProperty("ActiveState").onInterface(kUnitInterface);
    return state.get<std::string>();
}

std::string UnitClient::unitObjectPath(const std::string& unit) {
    char* raw = nullptr;
    if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &raw) < 0) {
        throw std::bad_alloc();
    }
    std::string path(raw);
    std::free(raw);
    return path;
}

}  // namespace imagebuild::agent
