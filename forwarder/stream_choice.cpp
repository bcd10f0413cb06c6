#include "forwarder/stream_choice.hpp"

#include <optional>

#include "common/build_id.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/loop_answer.hpp"
#include "forwarder/monitor_stream.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr std::string_view kMonitor = "/monitor/";

// The request line and header fields, as the route would see them; nullopt
// for a request the stream loop does not take.
std::optional<Request> followRequestOf(std::string_view head) {
    auto loop = loopRequestOfHead(head);
    if (!loop || loop->request.method != "GET" || loop->fields > kStreamLoopMaxHeaderFields) {
        return std::nullopt;
    }
    return std::move(loop->request);
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

}  // namespace imagebuild::forwarder
