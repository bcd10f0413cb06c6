// Literal routes with named segments: "/v1/builds/{id}". A route knows its
// pattern (the metrics label), its method and whether it writes (needs a token).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

using Handler = std::function<Response(Request&)>;

class AgentOnLoop;
// A route's answer about build `id` of this host, asked of the agent from
// the gate's loop (agent_on_loop.hpp) and given to `done`.
using AskAgentAbout = std::function<void(AgentOnLoop& agent, const std::string& id,
                                         std::function<void(Response&&)> done)>;

enum class Access { Read, Write };

// What body a route takes: none (any body is 413), JSON up to
// max_body_bytes, or that or a multipart/form-data upload up to
// max_upload_bytes.
enum class BodyKind { None, Json, JsonOrForm };

struct Route {
    std::string method;
    std::string pattern;
    Access access = Access::Read;
    Handler handler;
    std::vector<std::string> segments;  // the pattern split once (splitPath)
    BodyKind body = BodyKind::None;
    // Never blocks (no bus, no peer, no file, no stream): the gate's loop
    // may answer it without a thread (loop_answer.hpp).
    bool answersOnLoop = false;
    // About one build ({id}): when the build is a peer's, the answer is the
    // peer's, and the gate's loop may pass the request on itself
    // (forward.hpp, relayOnLoop).
    bool relaysOnLoop = false;
    // With relaysOnLoop: how the loop answers about a build of this host
    // (asking the agent itself); empty: `handler` answers, on a thread.
    AskAgentAbout askAgentOnLoop{};
};

struct RouteMatch {
    const Route* route = nullptr;  // null: no route for this method and path
    bool pathKnown = false;        // the path exists with another method (405)
    std::map<std::string, std::string> params;
};

class Router {
public:
    void add(std::string method, std::string pattern, Access access, Handler handler,
             BodyKind body = BodyKind::None);
    // A route whose handler never blocks: answered on the gate's loop.
    void addOnLoop(std::string method, std::string pattern, Access access, Handler handler);
    // A route about one build ({id}) that forBuild() passes on to the owner:
    // for a peer's build, the gate's loop may relay it itself; for one of
    // this host, ask the agent itself when `askAgent` is given.
    void addRelayedOnLoop(std::string method, std::string pattern, Access access, Handler handler,
                          AskAgentAbout askAgent = {});
    RouteMatch match(std::string_view method, std::string_view path) const;

private:
    std::vector<Route> routes_;
};

// Splits "/a/b/c" into {"a", "b", "c"}; empty segments (as in "//") are kept
// so that they never match a named segment.
std::vector<std::string> splitPath(std::string_view path);

}  // namespace imagebuild::forwarder
