// One follower of a build's log: reads the hub's ring from its own position
// straight into libmicrohttpd's buffer. When it has read everything it
// parks its connection (on either loop) in the build's `waiting` and returns
// 0, or, without a parking (a unit test), waits on the build's condition
// variable.
// Text or SSE; the end, a cut or a failure of the journal are its last
// words. Internal to the hub (follow_hub.hpp says the rules).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/build_info.hpp"
#include "common/build_log.hpp"
#include "forwarder/follow_build.hpp"
#include "forwarder/follow_hub.hpp"
#include "forwarder/monitor_stream.hpp"

namespace imagebuild::forwarder {

class FollowStream {
public:
    FollowStream(FollowHub& hub, std::shared_ptr<FollowHub::Followed> build, BuildInfo info,
                 MonitorFormat format, const std::string& resumeCursor, int clientFd,
                 std::shared_ptr<StreamParking> parking = nullptr);
    ~FollowStream();
    FollowStream(const FollowStream&) = delete;
    FollowStream& operator=(const FollowStream&) = delete;

    // libmicrohttpd's pull: bytes written to buffer (blocking until there
    // are some; with a parking: 0 once parked), or -1 at the end.
    long read(char* buffer, std::size_t max);

private:
    enum class Phase { CatchUp, Ring, Done };

    void startCatchUp(const std::string& resumeCursor);
    // Both: true if the follower parked.
    bool catchUp();
    bool tryAttach();
    void attachAt(std::uint64_t position);
    long readRing(char* buffer, std::size_t max);
    long copyLines(std::unique_lock<std::mutex>& lock, char* buffer, std::size_t max);
    bool stallToSay() const;
    void sayStall();
    void finish(const std::string& endState, const std::string& failure);
    void cut();
    void write(const LogLine& line);
    bool clientGone() const;
    bool lookAtClient();
    void parkLocked();

    FollowHub& hub_;
    std::shared_ptr<FollowHub::Followed> build_;
    // Text only: what the last line says of a log without lines. Not kept
    // for SSE, which says the state first (ten thousand followers hold it).
    std::unique_ptr<BuildInfo> textInfo_;
    MonitorFormat format_;
    int clientFd_;
    std::shared_ptr<StreamParking> parking_;  // on a loop
    bool parked_ = false;                     // since the last read
    bool woken_ = false;                      // this read follows a park
    Phase phase_ = Phase::Ring;
    bool attached_ = false;
    std::uint64_t position_ = 0;     // in the ring: the next line to send
    std::unique_ptr<BuildLog> own_;  // catching up only: the history before the ring
    std::string lastCursor_;         // of the last line sent while catching up
    std::string pending_;            // bytes produced, not yet given to libmicrohttpd
    std::size_t pendingAt_ = 0;
    bool wroteLine_ = false;
    bool sentStalled_ = false;
    std::chrono::steady_clock::time_point lastSent_ = std::chrono::steady_clock::now();
};

}  // namespace imagebuild::forwarder
