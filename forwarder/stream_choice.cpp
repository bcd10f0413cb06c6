#include "forwarder/stream_choice.hpp"

#include <optional>

#include "common/build_id.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/monitor_stream.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr std::string_view kMonitor = "/monitor/";

std::string lowerAscii(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

// The next line of the head, without its line end.
std::string_view nextLine(std::string_view& rest) {
    auto end = rest.find('\n');
    auto line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

// "a=1&b" as libmicrohttpd reads it, for a query without escapes ('%', and
// '+' for a space): the only kind the loop takes, so that no decoding here
// can differ from libmicrohttpd's.
bool parseQuery(std::string_view query, std::map<std::string, std::string>& out) {
    if (query.find_first_of("%+") != std::string_view::npos) {
        return false;
    }
    while (!query.empty()) {
        auto end = query.find('&');
        auto pair = query.substr(0, end);
        query.remove_prefix(end == std::string_view::npos ? query.size() : end + 1);
        if (pair.empty()) {
            continue;
        }
        auto eq = pair.find('=');
        out[std::string(pair.substr(0, eq))] =
            eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    }
    return true;
}

// The request line and header fields, as the route would see them; nullopt
// for a request the loop does not take.
std::optional<Request> followRequestOf(std::string_view head) {
    auto line = nextLine(head);
    if (!line.starts_with("GET ")) {
        return std::nullopt;
    }
    line.remove_prefix(4);
    auto target = line.substr(0, line.find(' '));
    auto question = target.find('?');
    Request request;
    request.method = "GET";
    request.path = std::string(target.substr(0, question));
    if (request.path.find('%') != std::string::npos ||
        (question != std::string_view::npos &&
         !parseQuery(target.substr(question + 1), request.query))) {
        return std::nullopt;
    }
    std::size_t fields = 0;
    for (auto field = nextLine(head); !field.empty(); field = nextLine(head)) {
        if (++fields > kStreamLoopMaxHeaderFields) {
            return std::nullopt;
        }
        auto colon = field.find(':');
        if (colon == std::string_view::npos) {
            return std::nullopt;
        }
        auto name = lowerAscii(trim(field.substr(0, colon)));
        if (name == "content-length" || name == "transfer-encoding" || name == "expect" ||
            name == "upgrade") {
            return std::nullopt;  // a body, or more than one answer: not a follower
        }
        request.headers[name] = std::string(trim(field.substr(colon + 1)));
    }
    return request;
}

}  // namespace

bool servedOnStreamLoop(std::string_view head, const std::string& hostname) {
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
    // A build of a peer is relayed (findOwner, forward.cpp): blocking.
    bool local = parsed->host == hostname || !request->header(kForwardedHeader).empty();
    auto format = chooseMonitorFormat(*request);
    bool follow = format == MonitorFormat::EventStream || request->queryValue("follow") == "1";
    return local && follow && format != MonitorFormat::Html;
}

}  // namespace imagebuild::forwarder
