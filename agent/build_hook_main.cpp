// imagebuild-build-hook VERB BUILD-DIR: the work systemd runs around a
// build, agent or no agent (agent/build_end.hpp):
//   submitted  send the submission mail, once (a transient unit the agent
//              starts right after Submit, so a slow mail server never holds
//              up the bus)
//   finished   stage the artifacts, send the final mail and post the final
//              record to the build's webhook, once each (the second
//              ExecStopPost= of the build unit, after the outcome recorder);
//              then pokes the agent (a Ping to org.imagebuild.Agent1), so the
//              bus starts it if it is not running and it starts the next
//              queued build: a slot freeing up never waits for a client call
// Output lands in the build's own log. Exits 0 unless the build's record
// cannot be read: staging and mail never change a build's result.
#include <systemd/sd-bus.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string_view>

#include "agent/build_end.hpp"
#include "common/build_id.hpp"
#include "common/build_log.hpp"
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
    std::cerr << "usage: imagebuild-build-hook submitted|finished BUILD-DIR\n";
    return 2;
}

void printFinished(const imagebuild::agent::BuildEndReport& report) {
    std::cout << "imagebuild: build " << report.result << "; staged " << report.stagedFiles
              << " files; final mail " << report.mail << "; webhook " << report.webhook << "\n";
    for (const auto& problem : report.problems) {
        std::cout << "imagebuild: problem: " << problem << "\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        return usage();
    }
    std::string_view verb = argv[1];
    if (verb != "submitted" && verb != "finished") {
        return usage();
    }
    int rc = 0;
    try {
        auto config = imagebuild::loadConfig(imagebuild::defaultConfigPath());
        auto host = imagebuild::localHostName();
        if (verb == "submitted") {
            std::cout << "imagebuild: submission mail "
                      << imagebuild::agent::mailSubmitted(argv[2], config, host) << "\n";
        } else {
            printFinished(
                imagebuild::agent::finishBuild(argv[2], config, host, imagebuild::markLogEnd));
        }
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-build-hook: " << e.what() << "\n";
        rc = 1;
    }
    if (verb == "finished") {
        pokeAgent();
    }
    return rc;
}
