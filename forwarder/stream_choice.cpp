#include "forwarder/stream_choice.hpp"

#include <optional>

#include "common/build_id.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/loop_answer.hpp"
#include "forwarder/monitor_stream.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr std::string_view kMonitor = "/monitor/";

// The raw target of the request line, as sent: "METHOD SP target SP ...".
std::string_view targetOf(std::string_view head) {
    auto start = head.find(' ');
    if (start == std::string_view::npos) {
        return {};
    }
    auto end = head.find_first_of(" \r\n", start + 1);
    return head.substr(start + 1, end == std::string_view::npos ? end : end - start - 1);
}

// Whether the route follows the build (as route_monitor.cpp decides): a
// stream until the build ends, where a read ends with the log.
bool follows(const Request& request) {
    auto id = std::string_view(request.path).substr(kMonitor.size());
    if (!BuildId::parse(id) || id.find('/') != std::string_view::npos) {
        return false;  // not a build's log: the route refuses it
    }
    return followsLog(request, chooseMonitorFormat(request));
}

// A follower goes to the stream loop if its head fits that loop's small
// memory pool; anything else to the request loop (where a follower parks
// too, in a larger pool).
bool followerForStreamLoop(std::string_view head) {
    if (head.size() > kStreamLoopMaxHeadBytes) {
        return false;
    }
    auto loop = loopRequestOfHead(head);
    return loop && loop->request.method == "GET" && loop->fields <= kStreamLoopMaxHeaderFields &&
           follows(loop->request);
}

}  // namespace

// The path decides first: the whole head is read only for /monitor/
// (every kept-alive request of the request loop is chosen again).
ServedBy daemonFor(std::string_view head) {
    auto target = targetOf(head);
    bool log = target.substr(0, target.find('?')).starts_with(kMonitor);
    return log && followerForStreamLoop(head) ? ServedBy::StreamLoop : ServedBy::RequestLoop;
}

}  // namespace imagebuild::forwarder
