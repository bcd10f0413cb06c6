#include "forwarder/router.hpp"

#include <optional>

namespace imagebuild::forwarder {

namespace {

std::optional<std::map<std::string, std::string>> matchPattern(
    const std::vector<std::string>& want, const std::vector<std::string>& have) {
    if (want.size() != have.size()) {
        return std::nullopt;
    }
    std::map<std::string, std::string> params;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto& w = want[i];
        if (w.size() > 2 && w.front() == '{' && w.back() == '}') {
            if (have[i].empty()) {
                return std::nullopt;
            }
            params[w.substr(1, w.size() - 2)] = have[i];
        } else if (w != have[i]) {
            return std::nullopt;
        }
    }
    return params;
}

}  // namespace

std::vector<std::string> splitPath(std::string_view path) {
    std::vector<std::string> out;
    if (path.empty() || path.front() != '/') {
        out.emplace_back(path);
        return out;
    }
    path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        out.emplace_back(path.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    return out;
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
    auto have = splitPath(path);
    for (const auto& route : routes_) {
        auto params = matchPattern(route.segments, have);
        if (!params) {
            continue;
        }
        // HEAD is served by the GET handler; libmicrohttpd drops the body.
        if (route.method == method || (method == "HEAD" && route.method == "GET")) {
            result.route = &route;
            result.params = std::move(*params);
            return result;
        }
        result.pathKnown = true;
    }
    return result;
}

}  // namespace imagebuild::forwarder
