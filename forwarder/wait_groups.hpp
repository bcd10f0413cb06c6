// The request loop's handlers grouped by what they wait on (the local
// agent, one peer, the fleet's peers): at most a group's cap of them hold a
// worker at once; the rest wait their turn in order, holding none. A
// handler that waits for one of the agent's 32 bus connections, say, would
// hold its worker while it waits: without groups, 256 requests to a hung
// agent held every worker until their calls timed out, and the loop's
// other requests (the web UI, /metrics, another peer's builds) waited
// behind them. A group's cap is the number of connections its handlers
// share: more at once would only wait inside the pool of connections.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

class WaitGroups {
public:
    // Runs a job on a worker; false if none will (the server stops).
    using Post = std::function<bool(std::function<void()>)>;

    explicit WaitGroups(Post post) : post_(std::move(post)) {}

    // Runs `job` through `post` now, if fewer than the group's cap run (or
    // it has no name or no cap),
    // else once one of them has ended. `post`: the caller's, for a job run
    // at once (the server posts under its own lock); a job run later goes
    // through the constructor's. A job that no worker takes (the server
    // stops) runs on the thread of the job that ended, which must answer
    // it at once.
    void run(const WaitGroup& group, std::function<void()> job, const Post& post);

    // Jobs of `name` waiting their turn now.
    std::size_t waiting(const std::string& name);

private:
    struct Group {
        unsigned running = 0;
        std::deque<std::function<void()>> waiting;
    };
    std::function<void()> counted(const std::string& name, std::function<void()> job);
    void ended(const std::string& name);

    Post post_;
    std::mutex mutex_;
    std::map<std::string, Group> groups_;
};

}  // namespace imagebuild::forwarder
