// Followers of a build's log share one reader of it. The first follower of
// a build (`/monitor/<id>?follow=1`, SSE) makes the hub open one journal
// reader for the build; one thread polls the descriptors of every followed
// build's journal, reads new lines into an in-memory ring per build, learns
// the build's state from the agent and decides where the log ends, once,
// with the rules of common/build_log.hpp. The state comes without polling:
// the hub's thread holds one bus connection (AgentOnLoop, in its poll set)
// that watches the agent's PropertiesChanged of a build's state and its
// name's NameOwnerChanged, and asks about a build (GetBuild, asynchronous)
// when it starts following it, when a signal names it or says "any", and
// once every kUnsignalledAsk otherwise: a signal lost to a full queue is a
// late answer, never a wrong one. Each follower keeps its own position in the ring.
// On the stream loop (a request with a parking) a follower that has sent
// everything parks its connection and the hub unparks the build's parked
// followers when it publishes lines, the end or a stall, and every 5 s (to
// look at their clients); on a connection's own thread it waits on the
// build's condition variable.
//
// Bounded: a ring holds at most `ringLines` lines (and `ringBytes` bytes).
// The reader never waits for a follower but the fastest one: once the ring
// is full it reads on when the fastest follower has read all of it, and a
// follower the ring has left behind is cut with an SSE `event: error`
// {"error":"SlowFollower",...} (text: a last line saying so), never slowing
// the others. A follower that joins once the ring no longer holds the log's
// first line reads the history from a journal of its own (no inotify: it
// never waits on it) until it meets the ring, then closes it. When the last
// follower of a build leaves, its reader stops.
#pragma once

#include <sdbus-c++/IConnection.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>

#include "common/build_info.hpp"
#include "common/build_log.hpp"
#include "common/http_loop_client.hpp"
#include "common/unique_fd.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/monitor_stream.hpp"
#include "forwarder/stream_parking.hpp"

namespace imagebuild::forwarder {

// A peer's build followed through this host: where its owner answers, and
// the request that asks it for the followed log (with the fleet token and
// X-Imagebuild-Forwarded, so the owner serves it from its own hub).
struct PeerFollow {
    std::string url;          // the owner, as the fleet names it (messages)
    HttpLoopRequest request;  // its timeout bounds the wait for the owner's head
    // Followers with the same key (no resume point: the log from its first
    // line) share one stream from the owner; empty: a stream of its own.
    std::string shareKey;
};

// What a follower of a peer's build gets: the owner's head and then the
// stream; the owner's whole answer if it was not a 200 (an error, relayed
// as it is); or why the owner could not be asked (no head: unreachable).
struct PeerFollowed {
    std::optional<HttpResponse> head;
    std::string errorBody;  // head->status != 200
    std::string failure;    // !head
    bool ours = false;      // !head, and the failure is this host's (it stops), not the owner's
    BodyStream stream;      // head->status == 200
};

struct RingLine;

struct FollowLimits {
    std::size_t ringLines = 65536;
    std::size_t ringBytes = 32 * 1024 * 1024;
};

class AgentOnLoop;

class FollowHub {
public:
    // Opens the hub's bus connection to the agent (connectForAgentCalls:
    // the system bus), on a thread of its own, at the first local build.
    using Connect = std::function<std::unique_ptr<sdbus::IConnection>()>;

    FollowHub(Connect connect, FollowLimits limits);
    ~FollowHub();
    FollowHub(const FollowHub&) = delete;
    FollowHub& operator=(const FollowHub&) = delete;

    // The body of one follower (Text or EventStream) of `build`, as the
    // request saw it, resuming after `resumeCursor` if it is not empty;
    // parking instead of blocking if `parking` is set.
    // Throws std::system_error if the build's journal cannot be opened.
    BodyStream follow(BuildInfo build, MonitorFormat format, const std::string& resumeCursor,
                      int clientFd, std::shared_ptr<StreamParking> parking = nullptr);

    // A follower of a peer's build (relayed by this host): every follower
    // of a build in one format, from its first line, reads one stream from
    // its owner, relayed byte for byte through the same ring, the same
    // parking and the same cut rule as a local build's; the hub's thread
    // reads those streams too (HttpPolledStream). Waits for the owner's
    // head when it is the first: at most the request's timeout and a
    // second (and the hub's turn, at most half a second more).
    PeerFollowed followPeer(const std::string& buildId, PeerFollow peer, MonitorFormat format,
                            int clientFd, std::shared_ptr<StreamParking> parking = nullptr);
    // followPeer without waiting: `done` gets the answer, on this thread
    // if the owner's head is in already, else on the hub's thread when it
    // comes, when the owner fails, or at the request's timeout (and when
    // the hub stops). The stream loop's answer to a follow (LaterAnswer):
    // no worker waits for an owner.
    using PeerFollowDone = std::function<void(PeerFollowed)>;
    void followPeerLater(const std::string& buildId, PeerFollow peer, MonitorFormat format,
                         int clientFd, std::shared_ptr<StreamParking> parking, PeerFollowDone done);

    // The agent's last word on a build the hub follows now, so that a new
    // follower need not ask the agent itself.
    std::optional<BuildInfo> known(const std::string& id) const;

    // How many builds have a reader now.
    std::size_t followedBuilds() const;
    // How many times the hub has asked the agent about a build's state.
    std::uint64_t stateAsks() const { return stateAsks_.load(); }

    // A followed build the agent said nothing of is asked about this often.
    static constexpr auto kUnsignalledAsk = std::chrono::seconds(30);

    struct Followed;

    // For FollowStream: a follower leaves; wakes the hub's thread.
    void leave(Followed& build, bool attached);
    void wake();
    const FollowLimits& limits() const { return limits_; }

private:
    std::shared_ptr<Followed> join(const BuildInfo& build);
    std::shared_ptr<Followed> joinPeer(const std::string& buildId, PeerFollow& peer,
                                       MonitorFormat format);
    void place(std::string key, const std::shared_ptr<Followed>& build);  // under mutex_
    void run();
    bool turn();
    std::vector<std::shared_ptr<Followed>> liveBuilds(bool& stop);
    bool shouldRead(Followed& build);
    void step(Followed& build);
    void publish(Followed& build, std::vector<LogLine>& lines,
                 const std::optional<std::string>& endState, const std::string& failure);
    void publishRing(Followed& build, std::vector<RingLine> ready,
                     const std::optional<std::string>& endState, const std::string& failure);
    void stepPeer(Followed& build);
    void publishPeerHead(Followed& build);
    void answerHeadWaiters(const std::shared_ptr<Followed>& build, bool stopping);
    PeerFollowed answerOf(const std::shared_ptr<Followed>& build, int clientFd,
                          std::shared_ptr<StreamParking> parking, const std::string& failure);
    void askWhatIsDue(const std::vector<std::shared_ptr<Followed>>& live);
    void learn(Followed& build, const BuildInfo& info);
    void stateMayHaveChanged(const std::optional<std::string>& id);
    void serveAgent(bool readable);
    void lookAtParked(const std::vector<std::shared_ptr<Followed>>& live);

    Connect connect_;
    FollowLimits limits_;
    mutable std::mutex mutex_;  // builds_, stop_
    // By build id; a peer's build by "<id> <format> <n>" (several may be
    // relayed at once: one shared, others with a resume point of their own).
    std::map<std::string, std::shared_ptr<Followed>> builds_;
    // A peer's build in one format, shared by its followers: by share key.
    std::map<std::string, std::weak_ptr<Followed>> shared_;
    std::uint64_t relays_ = 0;  // numbers the keys of peers' builds
    bool stop_ = false;
    UniqueFd wakeFd_;  // eventfd: a build came, a follower left or wants more
    std::chrono::steady_clock::time_point nextLook_{};  // the hub's thread only
    std::size_t lookSlice_ = 0;                         // the hub's thread only
    std::vector<pollfd> pollFds_;                       // the hub's thread only
    std::vector<std::shared_ptr<Followed>> polled_;     // the hub's thread only
    // The hub's thread only: its bus connection, polled through an epoll
    // instance of its own (AgentOnLoop adds its descriptors there).
    UniqueFd agentEpoll_;
    std::unique_ptr<AgentOnLoop> agent_;
    std::atomic<std::uint64_t> stateAsks_{0};
    std::thread thread_;
};

}  // namespace imagebuild::forwarder
