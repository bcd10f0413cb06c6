#include "agent/event_loop.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstring>

#include "agent/journal_log.hpp"

namespace imagebuild::agent {

std::uint64_t monotonicUSec() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

namespace {

volatile std::sig_atomic_t stopRequested = 0;

void onStopSignal(int) {
    stopRequested = 1;
}

// Milliseconds until the absolute monotonic usec deadline (-1: none).
int msUntil(uint64_t deadline) {
    if (deadline == UINT64_MAX) {
        return -1;
    }
    uint64_t now = monotonicUSec();
    if (deadline <= now) {
        return 0;
    }
    return static_cast<int>(std::min<uint64_t>((deadline - now + 999) / 1000, INT_MAX));
}

// Dispatches everything pending. False when the bus is gone (dbus-daemon
// stopping at shutdown): nothing is left to serve then.
bool drain(sdbus::IConnection& connection) {
    try {
        while (connection.processPendingRequest()) {
        }
    } catch (const sdbus::Error& e) {
        if (e.getName() != "org.freedesktop.DBus.Error.Disconnected") {
            throw;
        }
        logInfo("the system bus went away; exiting");
        return false;
    }
    return true;
}

bool interrupted(const sdbus::Error& e) {
    return e.getName() == "System.Error.EINTR";
}

// systemd stops a Type=dbus service as soon as it gives up its bus name, so
// SIGTERM arrives while the release call waits for its reply: that call was
// interrupted (EINTR) about 4 exits in 10, and the agent died failed. The
// stop signals wait until the name is given up, and an interrupted call is
// made again; a failure after that is logged and the exit stays clean (the
// bus drops the name with the connection anyway).
void releaseNameForExit(sdbus::IConnection& connection, const char* busName) {
    sigset_t stopSignals, previous;
    ::sigemptyset(&stopSignals);
    ::sigaddset(&stopSignals, SIGTERM);
    ::sigaddset(&stopSignals, SIGINT);
    ::sigprocmask(SIG_BLOCK, &stopSignals, &previous);
    for (int attempt = 0; attempt < 5; ++attempt) {
        try {
            connection.releaseName(busName);
            drain(connection);
            break;
        } catch (const sdbus::Error& e) {
            if (!interrupted(e)) {
                logWarning(fmt::format("while giving up the bus name: {}", e.what()));
                break;
            }
        }
    }
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace

int runEventLoop(sdbus::IConnection& connection, const ServiceActivity& manager,
                 std::uint64_t idleExitSec, const char* busName, LoopSource* source) {
    struct sigaction sa {};
    sa.sa_handler = onStopSignal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    const auto idleAfter = std::chrono::seconds(idleExitSec);
    while (!stopRequested) {
        if (!drain(connection)) {
            return 0;
        }
        auto busy = !manager.idle();
        auto idleFor = std::chrono::steady_clock::now() - manager.lastActivity();
        if (idleExitSec != 0 && !busy && idleFor >= idleAfter) {
            logEvent(LOG_INFO, message_id::kAgentIdleExit, "",
                     fmt::format("idle for {}s, exiting; the bus starts the agent again on the "
                                 "next call",
                                 idleExitSec));
            // Give up the name first: calls that arrive from now on activate
            // a new agent; those already queued to us are still answered.
            releaseNameForExit(connection, busName);
            return 0;
        }
        if (source != nullptr) {
            source->dispatch();  // cheap when nothing is due
        }
        auto poll = connection.getEventLoopPollData();
        int timeout = msUntil(poll.timeout_usec);
        if (source != nullptr) {
            if (int due = msUntil(source->deadline()); due >= 0) {
                timeout = timeout < 0 ? due : std::min(timeout, due);
            }
        }
        if (idleExitSec != 0 && !busy) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(idleAfter - idleFor);
            int idleMs = static_cast<int>(std::max<long>(left.count(), 0)) + 1;
            timeout = timeout < 0 ? idleMs : std::min(timeout, idleMs);
        }
        struct pollfd fds[2] = {
            {poll.fd, static_cast<short>(poll.events), 0},
            {source ? source->fd() : -1, source ? source->events() : short{0}, 0}};
        if (::poll(fds, 2, timeout) < 0 && errno != EINTR) {
            logError(fmt::format("poll failed: {}", std::strerror(errno)));
            return 1;
        }
    }
    logInfo("stopping on signal");
    return 0;
}

}  // namespace imagebuild::agent
