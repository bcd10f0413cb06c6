#include "forwarder/router.hpp"

#include <optional>
#include <string_view>

namespace imagebuild::forwarder {

namespace {

bool isParam(const std::string& segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Looked at for every route until one matches: so without a copy of anything.
bool matchesPattern(const std::vector<std::string>& want,
                    const std::vector<std::string_view>& have) {
    if (want.size() != have.size()) {
        return false;
    }
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (isParam(want[i]) ? have[i].empty() : want[i] != have[i]) {
            return false;
        }
    }
    return true;
}

std::map<std::string, std::string> paramsOf(const std::vector<std::string>& want,
                                            const std::vector<std::string_view>& have) {
    std::map<std::string, std::string> params;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (isParam(want[i])) {
            params[want[i].substr(1, want[i].size() - 2)] = have[i];
        }
    }
    return params;
}

// "/a/b" -> {"a", "b"}, views into `path`.
std::vector<std::string_view> segmentsOf(std::string_view path) {
    std::vector<std::string_view> out;
    out.reserve(8);
    if (path.empty() || path.front() != '/') {
        out.push_back(path);
        return out;
    }
    path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    return out;
}

}  // namespace

std::vector<std::string> splitPath(std::string_view path) {
    auto views = segmentsOf(path);
    return {views.begin(), views.end()};
}

void Router::add(std::string method, std::string pattern, Access access, Handler handler,
                 BodyKind body) {
    auto segments = splitPath(pattern);
    routes_.push_back({std::move(method), std::move(pattern), access, std::move(handler),
                       std::move(segments), body});
}

void Router::addOnLoop(std::string method, std::string pattern, Access access, Handler handler) {
    add(std::move(method), std::move(pattern), access, std::move(handler));
    routes_.back().answersOnLoop = true;
}

void Router::addRelayedOnLoop(std::string method, std::string pattern, Access access,
                              Handler handler, AskAgentAbout askAgent) {
    add(std::move(method), std::move(pattern), access, std::move(handler));
    routes_.back().relaysOnLoop = true;
    routes_.back().askAgentOnLoop = std::move(askAgent);
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
    RouteMatch result;
    auto have = segmentsOf(path);
    for (const auto& route : routes_) {
        if (!matchesPattern(route.segments, have)) {
            continue;
        }
        // HEAD is served by the GET handler; libmicrohttpd drops the body.
        if (route.method == method || (method == "HEAD" && route.method == "GET")) {
            result.route = &route;
            result.params = paramsOf(route.segments, have);
            return result;
        }
        result.pathKnown = true;
    }
    return result;
}

}  // namespace imagebuild::forwarder
