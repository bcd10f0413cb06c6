// Times BuildManager1.ListBuilds the way a client makes the call: an
// sdbus-c++ proxy on the system bus, the rows decoded into the same type
// imagebuildctl uses. Prints, in ms: the best and the median of RUNS calls,
// the number of rows, then where a call goes: the best time until the reply
// is in (agent + bus daemon + the client receiving it) and the best time
// decoding the rows, then the CPU time per call of the agent, of the bus
// daemon (when its pid is given) and of this client. Run inside a host where
// the agent serves.
//
// usage: bench-list-builds-call [RUNS [BUS_DAEMON_PID]]
#include <sdbus-c++/sdbus-c++.h>
#include <time.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <vector>

#include "common/build_info.hpp"
#include "common/dbus_names.hpp"

namespace {

// CPU time of a process's main thread so far (the agent and dbus-daemon
// are single-threaded), in ms; 0 if it cannot be read.
double cpuMsOf(std::uint32_t pid) {
    std::ifstream in(fmt::format("/proc/{}/schedstat", pid));
    double ns = 0;
    return pid != 0 && in >> ns ? ns / 1e6 : 0;
}

double ownCpuMs() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double msBetween(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
    namespace names = imagebuild::dbus_names;
    int runs = std::max(argc > 1 ? std::atoi(argv[1]) : 10, 1);
    auto busPid = static_cast<std::uint32_t>(argc > 2 ? std::atoi(argv[2]) : 0);
    auto connection = sdbus::createSystemBusConnection();
    auto proxy = sdbus::createProxy(*connection, names::kBusName, names::kManagerPath);
    proxy->finishRegistration();
    auto bus = sdbus::createProxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::uint32_t agentPid = 0;
    bus->callMethod("GetConnectionUnixProcessID")
        .onInterface("org.freedesktop.DBus")
        .withArguments(std::string(names::kBusName))
        .storeResultsTo(agentPid);
    std::vector<double> total, call, decode;
    std::size_t rows = 0;
    double agent0 = cpuMsOf(agentPid), bus0 = cpuMsOf(busPid), own0 = ownCpuMs();
    for (int i = 0; i < runs; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto method = proxy->createMethodCall(names::kManagerInterface, "ListBuilds");
        method << std::map<std::string, sdbus::Variant>{};
        auto reply = proxy->callMethod(method);
        auto t1 = std::chrono::steady_clock::now();
        std::vector<imagebuild::BuildListRow> result;
        reply >> result;
        auto t2 = std::chrono::steady_clock::now();
        total.push_back(msBetween(t0, t2));
        call.push_back(msBetween(t0, t1));
        decode.push_back(msBetween(t1, t2));
        rows = result.size();
    }
    double agent1 = cpuMsOf(agentPid), bus1 = cpuMsOf(busPid), own1 = ownCpuMs();
    for (auto* times : {&total, &call, &decode}) {
        std::sort(times->begin(), times->end());
    }
    fmt::print("{:.1f} {:.1f} {} {:.1f} {:.1f} {:.1f} {:.1f} {:.1f}\n", total.front(),
               total[total.size() / 2], rows, call.front(), decode.front(),
               (agent1 - agent0) / runs, (bus1 - bus0) / runs, (own1 - own0) / runs);
}
