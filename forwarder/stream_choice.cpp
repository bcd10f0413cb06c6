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

int hexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = static_cast<char>(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The path as libmicrohttpd hands it to the route: each %XX decoded, any
// other '%' kept (MHD_http_unescape).
std::string decodedPath(std::string_view path) {
    std::string out;
    for (std::size_t i = 0; i < path.size(); ++i) {
        int high = i + 2 < path.size() && path[i] == '%' ? hexValue(path[i + 1]) : -1;
        int low = high >= 0 ? hexValue(path[i + 2]) : -1;
        if (low >= 0) {
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else {
            out += path[i];
        }
    }
    return out;
}

// Whether the route follows the build (as route_monitor.cpp decides): a
// stream until the build ends, where a read ends with the log.
bool follows(const Request& request) {
    auto id = std::string_view(request.path).substr(kMonitor.size());
    if (!BuildId::parse(id) || id.find('/') != std::string_view::npos) {
        return false;  // not a build's log: the route refuses it
    }
    auto format = chooseMonitorFormat(request);
    bool follow = format == MonitorFormat::EventStream || request.queryValue("follow") == "1";
    return follow && format != MonitorFormat::Html;
}

// A follower goes to the stream loop if its head fits that loop's small
// memory pool, else to a thread; a read to the request loop, which reads
// its journal (or its owner's answer) ahead on a worker (stream_pump.hpp).
ServedBy monitorDaemonFor(std::string_view head) {
    auto loop = loopRequestOfHead(head);
    if (!loop) {
        return ServedBy::Threads;
    }
    if (!follows(loop->request)) {
        return ServedBy::RequestLoop;
    }
    bool fits = loop->request.method == "GET" && head.size() <= kStreamLoopMaxHeadBytes &&
                loop->fields <= kStreamLoopMaxHeaderFields;
    return fits ? ServedBy::StreamLoop : ServedBy::Threads;
}

}  // namespace

bool servedOnStreamLoop(std::string_view head) {
    return daemonFor(head) == ServedBy::StreamLoop;
}

// The path alone decides but for /monitor/: the whole head is read only
// there (every kept-alive request of the request loop is chosen again).
ServedBy daemonFor(std::string_view head) {
    auto target = targetOf(head);
    auto path = target.substr(0, target.find('?'));
    if (!path.starts_with('/')) {
        return ServedBy::Threads;
    }
    if (path.find('%') != std::string_view::npos) {
        // Only a log's path may be a follower: its query is not read here.
        return decodedPath(path).starts_with(kMonitor) ? ServedBy::Threads : ServedBy::RequestLoop;
    }
    if (path.starts_with(kMonitor)) {
        return monitorDaemonFor(head);
    }
    return ServedBy::RequestLoop;
}

}  // namespace imagebuild::forwarder
