// The local agent asked from one of the gate's loops, without a thread: a
// system-bus connection of the loop's own, its descriptor in the loop's
// epoll, every call asynchronous. A build's record is two calls, as the
// thread's client makes them (GetBuild, then the build object's GetAll),
// the second sent from the first's reply.
//
// Single-threaded: made, called and destroyed on the loop's thread. Replies
// are taken in by dispatch() and handed to their callers by deliver(), never
// from inside sd-bus's own callbacks, so a caller may do anything in `done`
// (answer its client, ask again). At most kMaxCallsInFlight calls are on
// the bus at once; the others wait their turn here, in order. Connecting is
// the one step sd-bus does blocking (the handshake with the bus daemon, up
// to its 90 s authentication timeout when the daemon is stuck), so it runs
// on a short-lived thread of its own while the calls wait; an eventfd in
// the loop's epoll says it is done. A call fails with the sdbus::Error a
// blocking call would have thrown: the agent's named error, the bus's
// NoReply after kAgentCallTimeout, the connect's error, or Disconnected
// when the connection broke (every call in flight then fails; the next
// call connects again).
//
// A caller that keeps builds' states (the follow hub) watches the agent's
// signals on the same connection instead of asking again and again: the
// matches are added on the connecting thread before the connection is
// handed over (AddMatch is a blocking round trip), so a call made on it
// afterwards answers with a state no older than the first signal it gets.
#pragma once

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>
#include <sdbus-c++/IProxy.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/build_info.hpp"

namespace imagebuild::forwarder {

class AgentOnLoop {
public:
    using Connect = std::function<std::unique_ptr<sdbus::IConnection>()>;
    // `build` on success, else `error`.
    using BuildDone = std::function<void(BuildInfo* build, const sdbus::Error* error)>;
    // A build whose state (State, Result, Stalled, StalledSince) may have
    // changed, as the agent (the current owner of its name) said; nullopt:
    // any build's may have (the connection is new or broke, or the agent's
    // name changed owner: an agent that starts again says nothing of what
    // changed meanwhile).
    using BuildsChanged = std::function<void(const std::optional<std::string>& id)>;

    // Adds the connection's descriptor to `epollFd` (level-triggered, data.fd
    // is the descriptor) once connected; `connect` opens the connection
    // (connectForAgentCalls() for the system bus), on the first call, on a
    // thread of its own.
    AgentOnLoop(int epollFd, Connect connect);
    // Closes the connection; no `done` is called any more (a connect under
    // way ends on its thread, its connection dropped).
    ~AgentOnLoop();
    AgentOnLoop(const AgentOnLoop&) = delete;
    AgentOnLoop& operator=(const AgentOnLoop&) = delete;

    void getBuild(const std::string& id, BuildDone done);

    // From the next connect on (call it before the first getBuild), the
    // agent's PropertiesChanged of a build's state and NameOwnerChanged of
    // its name are watched and said to `changed` by deliver(). It does not
    // connect by itself: a watcher asks about its builds first.
    void watchBuilds(BuildsChanged changed);

    // An event of the loop's epoll on `fd`; false: not ours.
    bool handle(int fd);
    // Takes in what the bus has: replies, and calls past their timeout
    // (sd-bus ends those when dispatched: call it at least every few
    // hundred milliseconds while busy()).
    void dispatch();
    // Calls `done` of every call that ended, in the order they ended, then
    // `changed` (watchBuilds) of every signal taken in.
    void deliver();
    // Something for deliver(): a call ended, or a watched signal came.
    bool hasEnded() const { return !ended_.empty() || !watched_->signals.empty(); }
    bool busy() const { return !calls_.empty() || !queued_.empty(); }

    // dbus-daemon refuses a connection's calls past 128 waiting for their
    // replies (max_replies_per_connection, the system bus's default) with
    // LimitsExceeded; a build's record is one call at a time.
    static constexpr std::size_t kMaxCallsInFlight = 64;
    // A connect that failed is not tried again for this long: the calls
    // meanwhile fail at once with its error. Without it a host whose bus is
    // gone started a connecting thread for every few requests (4,300
    // threads a second under 54,000 requests a second).
    static constexpr auto kConnectRetryAfter = std::chrono::seconds(1);

private:
    struct Call {
        BuildDone done;
        // The build object's proxy: kept until the call is delivered, never
        // destroyed inside its own reply callback.
        std::unique_ptr<sdbus::IProxy> build;
    };
    struct Queued {
        std::string id;
        BuildDone done;
    };
    struct Ended {
        BuildDone done;
        std::unique_ptr<sdbus::IProxy> build;
        std::optional<BuildInfo> info;
        std::optional<sdbus::Error> error;
    };
    struct Connecting;
    void pump();
    void send(const std::string& id, BuildDone done);
    void startConnecting();
    void connectEnded();
    void connectFailed(const sdbus::Error& why);
    void failQueued(const sdbus::Error& why);
    void askProperties(std::uint64_t key, const sdbus::ObjectPath& path);
    void end(std::uint64_t key, std::optional<BuildInfo> info, std::optional<sdbus::Error> error);
    void disconnect(const sdbus::Error& why);
    void watch();

    int epoll_;
    BuildsChanged changed_;
    // What the match callbacks (inside dispatch()) keep: the signals taken
    // in, emptied by deliver(), and the agent's unique name (only its own
    // signals count: anyone on the bus may send one). Shared with the
    // connecting thread, which makes the matches.
    struct Watched {
        std::vector<std::optional<std::string>> signals;
        std::string agentOwner;  // "" while the agent is not running
    };
    std::shared_ptr<Watched> watched_ = std::make_shared<Watched>();
    std::vector<sdbus::Slot> matches_;  // made on connection_, dropped before it
    Connect connect_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> manager_;
    int watchedFd_ = -1;
    std::uint32_t watchedEvents_ = 0;
    std::uint64_t nextKey_ = 1;
    std::map<std::uint64_t, Call> calls_;
    std::deque<Queued> queued_;
    std::shared_ptr<Connecting> connecting_;        // a connect under way
    std::optional<sdbus::Error> lastConnectError_;  // the last connect failed, so:
    std::chrono::steady_clock::time_point retryConnectAt_;
    std::vector<Ended> ended_;
};

}  // namespace imagebuild::forwarder
