// imagebuild-build-hook VERB BUILD-DIR: the work systemd runs around a
// build, agent or no agent (agent/build_end.hpp):
//   submitted  send the submission mail, once (a transient unit the agent
//              starts right after Submit, so a slow mail server never holds
//              up the bus)
//   stalled    send the mail saying the build's log fell silent, once
//   finished   stage the artifacts, send the final mail and post the final
//              record to the build's webhook, once each (the second
//              ExecStopPost= of the build unit, after the outcome recorder);
//              then pokes the agent (a Ping to org.imagebuild.Agent1), so the
//              bus starts it if it is not running and it starts the next
//              queued build: a slot freeing up never waits for a client call
//   ended      what systemd runs in imagebuild-end@<id>.service (OnSuccess=)
//              or imagebuild-end-failed@<id>.service (OnFailure=) of the
//              build's unit, once the unit has ended: writes the outcome from
//              $MONITOR_SERVICE_RESULT, $MONITOR_EXIT_CODE, $MONITOR_EXIT_STATUS
//              unless the unit's recorder did, then does what `finished`
//              does, unless the unit's own step ran already (a daemon-reload
//              drops a transient unit's ExecStopPost= in systemd 252, never
//              its OnSuccess=/OnFailure=)
// Output lands in the build's own log. Exits 0 unless the build's record
// cannot be read: staging and mail never change a build's result.
#include <systemd/sd-bus.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string_view>

#include "agent/build_end.hpp"
#include "agent/unit_settings.hpp"
#include "common/build_id.hpp"
#include "common/build_log.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"

namespace {

// Any message to the name activates the agent; Peer.Ping is answered by the
// bus library itself once the agent has its name (after reconciling, when
// it has seen this build's end and started what fits). Failure is only
// reported: the build's result is recorded already.
void pokeAgent() {
    sd_bus* raw = nullptr;
    if (int r = sd_bus_open_system(&raw); r < 0) {
        std::cerr << "imagebuild-build-hook: cannot reach the system bus: " << std::strerror(-r)
                  << "\n";
        return;
    }
    std::unique_ptr<sd_bus, decltype(&sd_bus_flush_close_unref)> bus(raw,
                                                                     &sd_bus_flush_close_unref);
    sd_bus_set_method_call_timeout(bus.get(), 10'000'000);
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus.get(), "org.imagebuild.Agent1", "/org/imagebuild/Agent1",
                               "org.freedesktop.DBus.Peer", "Ping", &error, nullptr, "");
    if (r < 0) {
        std::cerr << "imagebuild-build-hook: cannot start the agent for the queue: "
                  << (error.message ? error.message : std::strerror(-r)) << "\n";
    }
    sd_bus_error_free(&error);
}

int usage() {
    std::cerr << "usage: imagebuild-build-hook submitted|stalled|finished|ended BUILD-DIR\n";
    return 2;
}

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

void printFinished(const imagebuild::agent::BuildEndReport& report) {
    std::cout << "imagebuild: build " << report.result << "; staged " << report.stagedFiles
              << " files; final mail " << report.mail << "; webhook " << report.webhook << "\n";
    for (const auto& problem : report.problems) {
        std::cout << "imagebuild: problem: " << problem << "\n";
    }
}

// The build's unit has ended and systemd says how. Returns whether the
// end-of-build step is left to do (false: the unit's own step did it).
bool recordEnded(const std::filesystem::path& buildDir) {
    auto id = buildDir.filename().string();
    auto monitored = env("MONITOR_UNIT");
    if (!monitored.empty() && monitored != imagebuild::agent::unitNameOf(id)) {
        throw std::runtime_error("started for " + monitored + ", not for build " + id);
    }
    if (imagebuild::agent::endOfBuildRan(buildDir)) {
        std::cout << "imagebuild: the end of build " << id << " was handled by its unit\n";
        return false;
    }
    if (imagebuild::agent::betweenAttempts(buildDir)) {
        std::cout << "imagebuild: an attempt of build " << id
                  << " ended and the agent runs the next one: nothing to do\n";
        return false;
    }
    imagebuild::agent::UnitOutcome outcome;
    outcome.serviceResult = env("MONITOR_SERVICE_RESULT");
    outcome.exitCode = env("MONITOR_EXIT_CODE");
    outcome.exitStatus = env("MONITOR_EXIT_STATUS");
    outcome.finishedAt = imagebuild::realtimeUsec();
    if (outcome.serviceResult.empty()) {
        std::cout << "imagebuild: no $MONITOR_SERVICE_RESULT: the outcome is left to the agent\n";
    } else if (imagebuild::agent::recordOutcomeOnce(buildDir, outcome)) {
        std::cout << "imagebuild: " << monitored << " ended (" << outcome.serviceResult << " "
                  << outcome.exitCode << " " << outcome.exitStatus
                  << ") without running its outcome recorder; recorded the end systemd reported\n";
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        return usage();
    }
    std::string_view verb = argv[1];
    if (verb != "submitted" && verb != "stalled" && verb != "finished" && verb != "ended") {
        return usage();
    }
    int rc = 0;
    bool poke = false;
    try {
        auto config = imagebuild::loadConfig(imagebuild::defaultConfigPath());
        auto host = imagebuild::localHostName();
        if (verb == "submitted") {
            std::cout << "imagebuild: submission mail "
                      << imagebuild::agent::mailSubmitted(argv[2], config, host) << "\n";
        } else if (verb == "stalled") {
            std::cout << "imagebuild: stall mail "
                      << imagebuild::agent::mailStalled(argv[2], config, host) << "\n";
        } else if (verb == "finished" || recordEnded(argv[2])) {
            printFinished(
                imagebuild::agent::finishBuild(argv[2], config, host, imagebuild::markLogEnd));
            poke = true;
        }
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-build-hook: " << e.what() << "\n";
        rc = 1;
        poke = verb != "submitted" && verb != "stalled";
    }
    if (poke) {
        pokeAgent();
    }
    return rc;
}
