#include "forwarder/stream_choice.hpp"

#include <optional>

#include "common/build_id.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/loop_answer.hpp"
#include "forwarder/monitor_stream.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr std::string_view kMonitor = "/monitor/";
constexpr std::string_view kArtifacts = "/artifacts/";

// The request line and header fields, as the route would see them; nullopt
// for a request the stream loop does not take.
std::optional<Request> followRequestOf(std::string_view head) {
    auto loop = loopRequestOfHead(head);
    if (!loop || loop->request.method != "GET" || loop->fields > kStreamLoopMaxHeaderFields) {
        return std::nullopt;
    }
    return std::move(loop->request);
}

// The raw target of the request line, as sent: "METHOD SP target SP ...".
std::string_view targetOf(std::string_view head) {
    auto start = head.find(' ');
    if (start == std::string_view::npos) {
        return {};
    }
    auto end = head.find_first_of(" \r\n", start + 1);
    return head.substr(start + 1, end == std::string_view::npos ? end : end - start - 1);
}

}  // namespace

bool servedOnStreamLoop(std::string_view head) {
    if (head.size() > kStreamLoopMaxHeadBytes) {
        return false;
    }
    auto request = followRequestOf(head);
    if (!request || !request->path.starts_with(kMonitor)) {
        return false;
    }
    auto id = std::string_view(request->path).substr(kMonitor.size());
    auto parsed = BuildId::parse(id);
    if (!parsed || id.find('/') != std::string_view::npos) {
        return false;
    }
    auto format = chooseMonitorFormat(*request);
    bool follow = format == MonitorFormat::EventStream || request->queryValue("follow") == "1";
    return follow && format != MonitorFormat::Html;
}

// The path alone decides but for /monitor/: the whole head is read only
// there (every kept-alive request of the request loop is chosen again).
ServedBy daemonFor(std::string_view head) {
    auto target = targetOf(head);
    auto path = target.substr(0, target.find('?'));
    if (path.starts_with(kMonitor)) {
        return servedOnStreamLoop(head) ? ServedBy::StreamLoop : ServedBy::Threads;
    }
    if (!path.starts_with('/') || path.find('%') != std::string_view::npos ||
        path.starts_with(kArtifacts)) {
        return ServedBy::Threads;
    }
    return ServedBy::RequestLoop;
}

}  // namespace imagebuild::forwarder
