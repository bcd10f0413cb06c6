// imagebuild-forwarder: the HTTP front of a build host. Everything but
// process setup lives in the forwarder library.
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <exception>
#include <fstream>
#include <string_view>
#include <thread>

#include "forwarder/app.hpp"
#include "forwarder/http_server.hpp"
#include "forwarder/listen_socket.hpp"
#include "forwarder/log.hpp"
#include "forwarder/peers.hpp"
#include "forwarder/stream_choice.hpp"
#include "imagebuild_config.h"

using namespace imagebuild::forwarder;

namespace {

std::string localHostname() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

std::string readFleetToken(const std::string& path) {
    std::ifstream in(path);
    std::string token;
    std::getline(in, token);
    return token;
}

int run(int argc, char** argv) {
    CLI::App cli{"imagebuild-forwarder: HTTP front of an imagebuild host"};
    std::string configPath = std::string(IMAGEBUILD_SYSCONFDIR) + "/imagebuild/imagebuild.conf";
    std::string listen;
    cli.add_option("-c,--config", configPath, "configuration file");
    cli.add_option("-l,--listen", listen,
                   "ADDRESS:PORT to bind when not socket-activated (overrides listen=)");
    cli.set_version_flag("--version", IMAGEBUILD_VERSION);
    CLI11_PARSE(cli, argc, argv);

    auto config = loadConfig(configPath);
    if (!listen.empty()) {
        splitHostPort(listen);  // validates
        config.listen = listen;
    }
    // Block the stop signals before any thread starts, then wait for them here.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    App app(config, TokenStore::load(config.tokensFile), localHostname());
    PeerOptions peerOptions{
        readFleetToken(config.fleetTokenFile), std::chrono::seconds(config.healthIntervalSec),
        std::chrono::seconds(config.healthTimeoutSec), std::chrono::seconds(config.peerTimeoutSec),
        std::chrono::seconds(config.firstProbeWaitSec)};
    app.setPeers(std::make_unique<Peers>(config.peers, peerOptions, &app.metrics()));
    registerRoutes(app);
    app.peers().startHealthChecks();

    ServerLimits limits;
    limits.gate.maxConnections = config.maxConnections;
    limits.gate.maxPerAddress = config.maxConnectionsPerAddress;
    limits.gate.headTimeoutSec = config.headTimeoutSec;
    limits.gate.loops = std::max(1u, std::thread::hardware_concurrency());
    limits.gate.head.maxHeadBytes = config.maxHeadBytes;
    limits.gate.head.maxTargetBytes = std::min<std::size_t>(8 * 1024, config.maxHeadBytes);
    limits.idleTimeoutSec = config.requestTimeoutSec;
    HttpServer server(
        takeListenSocket(config.listen), limits,
        [&app](Request& request) { return app.admit(request); },
        [&app](Request& request) { return app.dispatch(request); },
        [&app](unsigned status, const std::string& reason) {
            app.metrics().countRefusal(status, reason);
        },
        [](std::string_view head) { return daemonFor(head); },
        [&app](Request& request) { return app.answerOnLoop(request); });
    log::info("imagebuild-forwarder {} serving as {}", IMAGEBUILD_VERSION, app.hostname());
    sd_notify(0, "READY=1\nSTATUS=serving");

    int signo = 0;
    sigwait(&stopSignals, &signo);
    sd_notify(0, "STOPPING=1");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        log::error("imagebuild-forwarder: {}", e.what());
        return 1;
    }
}
