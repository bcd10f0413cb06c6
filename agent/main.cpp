// imagebuild-agent: the build manager of one host. Started by the D-Bus
// system bus (org.imagebuild.Agent1) through imagebuild-agent.service; see
// docs/design.md ("Build lifecycle"). Everything but wiring lives in the
// agent library.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "agent/build_lifecycle.hpp"
#include "agent/build_registry.hpp"
#include "agent/config_invalid_manager.hpp"
#include "agent/event_loop.hpp"
#include "agent/journal_log.hpp"
#include "agent/manager.hpp"
#include "agent/notifications.hpp"
#include "agent/stall_watcher.hpp"
#include "agent/systemd_units.hpp"
#include "common/build_id.hpp"
#include "common/config.hpp"
#include "common/dbus_names.hpp"
#include "common/sd_bus_of.hpp"
#include "imagebuild_config.h"

using namespace imagebuild;
using namespace imagebuild::agent;

namespace {

std::string defaultStateDir() {
    // Set by systemd from StateDirectory=imagebuild.
    const char* dir = std::getenv("STATE_DIRECTORY");
    return dir ? dir : "/var/lib/imagebuild";
}

HelperPaths helperPaths() {
    std::string dir = IMAGEBUILD_LIBEXECDIR;
    // The imagebuild-end@ templates are installed with the agent.
    return {dir + "/imagebuild-record-result", dir + "/imagebuild-build-hook",
            dir + "/imagebuild-webhook", true};
}

// The configuration is invalid: the bus name is served all the same, every
// call answered with ConfigInvalid naming file:line, until idle exit. A
// caller learns what is wrong at once instead of waiting out the bus's
// activation timeout on an agent that died before taking its name.
int serveConfigInvalid(sdbus::IConnection& connection, const std::string& hostname,
                       const std::string& problem) {
    logEvent(LOG_ERR, message_id::kConfigInvalid, "",
             "the configuration is invalid, every call is refused until it is fixed: " + problem);
    ConfigInvalidManager manager(connection, hostname, problem);
    return runEventLoop(connection, manager, HostConfig{}.idleExitSec, dbus_names::kBusName);
}

int run(const std::string& configPath, const std::string& stateDir) {
    auto hostname = localHostName();
    if (!isValidHostName(hostname)) {
        throw std::runtime_error("the host name \"" + hostname +
                                 "\" cannot be part of a build id (letters, digits, '-', '.')");
    }
    auto connection = sdbus::createSystemBusConnection();
    // Before the name: finding the sd_bus* dispatches what arrives meanwhile.
    sd_bus* bus = sdBusOf(*connection);
    // The name first, before anything that can fail or take long: a caller
    // gets an answer (maybe an error) at once instead of waiting out the
    // bus's activation timeout. Calls wait in the connection until the loop
    // runs, after reconcile().
    connection->requestName(dbus_names::kBusName);
    Config config;
    try {
        config = loadConfig(configPath);
    } catch (const ConfigError& e) {
        return serveConfigInvalid(*connection, hostname, e.what());
    }
    auto idleExitSec = config.host.idleExitSec;
    StateStore store(stateDir);
    UnitClient units(*connection);
    SystemdUnitRunner runner(*connection, units);
    Polkit polkit(*connection, bus);
    BuildRegistry registry(store);
    LifecycleOptions options{std::move(config), hostname, helperPaths()};
    BuildLifecycle lifecycle(std::move(options), registry, runner);
    Notifications notifications(lifecycle.options(), store, runner);
    Manager manager(*connection, bus, lifecycle, notifications, polkit);
    StallWatcher stalls(lifecycle);
    lifecycle.addListener(manager);
    lifecycle.addListener(notifications);
    lifecycle.addListener(stalls);
    runner.onStateChanged([&lifecycle](const std::string& unit, const std::string& activeState) {
        lifecycle.onUnitState(unit, activeState);
    });
    units.subscribe(
        [&lifecycle](const std::string& unit, const std::string& result) {
            lifecycle.onJobRemoved(unit, result);
        },
        [&lifecycle](const std::string& unit) { lifecycle.onUnitRemoved(unit); });
    try {
        lifecycle.reconcile();
    } catch (const std::exception& e) {
        // What was read is served; what could not be brought up to date
        // is left as recorded, for the next agent.
        logError(std::string("reconciling the builds on disk failed: ") + e.what());
    }
    logEvent(LOG_INFO, message_id::kAgentStarted, "",
             "imagebuild-agent " IMAGEBUILD_VERSION " serving on " + hostname);
    return runEventLoop(*connection, manager, idleExitSec, dbus_names::kBusName, &stalls);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"imagebuild-agent: runs OS image builds as transient systemd units"};
    std::string configPath = defaultConfigPath();
    std::string stateDir = defaultStateDir();
    bool checkOnly = false;
    app.add_option("--config", configPath, "configuration file");
    app.add_option("--state-dir", stateDir, "state directory");
    app.add_flag("--check-config", checkOnly, "parse the configuration, print problems, exit");
    CLI11_PARSE(app, argc, argv);
    try {
        if (checkOnly) {
            loadConfig(configPath);
            std::cout << configPath << ": ok\n";
            return 0;
        }
        return run(configPath, stateDir);
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-agent: " << e.what() << "\n";
        logError(std::string("imagebuild-agent cannot run: ") + e.what());
        return 1;
    }
}
