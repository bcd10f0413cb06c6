// The state of one followed build, shared by the hub's thread (which reads
// its journal and appends to the ring) and its followers (which read the
// ring: on their connections' threads, or on the stream loop). Internal to
// follow_hub.cpp and follow_stream.cpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/build_info.hpp"
#include "common/build_log.hpp"
#include "common/http_polled_stream.hpp"
#include "forwarder/follow_hub.hpp"
#include "forwarder/monitor_stream.hpp"
#include "forwarder/stream_parking.hpp"

namespace imagebuild::forwarder {

// A follower with nothing to send looks at its client this often (gone: it
// leaves; SSE: a keep-alive is due).
inline constexpr auto kLookAtClient = std::chrono::seconds(5);

// One line as every follower sends it, formatted once.
struct RingLine {
    std::uint64_t seqnum =
        0;  // the journal's sequence number of its entry (a notice: the previous)
    bool notice = false;
    std::string cursor;  // "" for a notice
    std::string text;    // the bytes, for text followers
    std::string sse;     // the whole SSE event, for EventStream followers
};

// The journal's sequence number in a cursor ("s=...;i=<hex>;..."), 0 if none.
std::uint64_t cursorSeqnum(const std::string& cursor);

// A follower of a peer's build waiting for its owner's head (followPeerLater).
struct PeerHeadWaiter {
    int clientFd = -1;
    std::shared_ptr<StreamParking> parking;
    FollowHub::PeerFollowDone done;
    std::chrono::steady_clock::time_point deadline;
};

struct FollowHub::Followed {
    explicit Followed(std::string buildId) : id(std::move(buildId)) {}

    const std::string id;
    // Not empty: a peer's build, its owner's stream relayed byte for byte
    // (followPeer): the owner's URL, and the format of every follower.
    // Set before the build is published, never changed.
    std::string peerUrl;
    MonitorFormat peerFormat = MonitorFormat::Text;

    // The hub's thread only (set before the build is published to it).
    std::unique_ptr<BuildLog> log;
    std::unique_ptr<LogFollower> follower;
    std::unique_ptr<HttpPolledStream> peer;  // a peer's build, until its stream is over
    std::string partial;                     // of its body: after the last whole line or event
    std::chrono::steady_clock::time_point nextStep{};
    // A local build: when to ask the agent about it next (now, at the start
    // and when a signal names it), and whether a question is on the bus.
    std::chrono::steady_clock::time_point askDue{};
    std::chrono::steady_clock::time_point retryAfter{};  // the last question failed
    bool asking = false;
    std::uint64_t lastSeqnum = 0;

    // Everything below under `mutex`; `changed` is notified on every change.
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<RingLine> ring;
    std::uint64_t base = 0;     // the position of ring.front(): lines dropped before it
    std::size_t bytes = 0;      // of the lines in the ring
    std::uint64_t fastest = 0;  // the furthest position an attached follower has read to
    unsigned followers = 0;     // every follower, attached or catching up
    unsigned attached = 0;      // followers reading the ring
    bool paused = false;        // the reader waits for the fastest follower
    bool ended = false;         // the end is decided: after the last line of the ring
    std::string endState;       // the final state the end names
    std::string failure;        // the journal could not be followed (ended too)
    BuildInfo info;             // the agent's last word on the build
    // A peer's build: the head of its owner's answer, once it came; the
    // whole body of an answer other than 200 (an error, relayed as it is).
    std::optional<HttpResponse> peerHead;
    std::string peerError;
    // Its followers waiting for that head (each counted in `followers`).
    std::vector<PeerHeadWaiter> headWaiters;
    std::uint64_t stallVersion = 0;  // bumped when info's stall changes
    // Followers on the stream loop parked until the ring, the end or the
    // stall changes (then unparked all at once, outside the mutex), or
    // until the hub's next look at every client.
    std::vector<std::shared_ptr<StreamParking>> waiting;

    std::uint64_t end() const { return base + ring.size(); }
    // A follower at `position` is within half a ring of the newest line.
    bool nearTheEnd(std::uint64_t position, const FollowLimits& limits) const {
        return position + limits.ringLines / 2 >= end();
    }
    // The index of the line with this cursor in the ring, if it holds it.
    std::optional<std::uint64_t> find(const std::string& cursor) const;
};

}  // namespace imagebuild::forwarder
