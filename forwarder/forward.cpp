#include "forwarder/forward.hpp"

#include <sdbus-c++/Error.h>

#include <fmt/format.h>

#include "common/build_id.hpp"
#include "forwarder/app.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

namespace {

std::string percentEncode(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

Response unreachable(const std::string& url, const std::string& what) {
    return jsonError(502, "PeerUnreachable", fmt::format("host {} did not answer: {}", url, what));
}

}  // namespace

bool wasForwarded(const Request& request) {
    return !request.header(kForwardedHeader).empty();
}

Owner findOwner(App& app, const Request& request, const std::string& id) {
    Owner owner;
    auto parsed = BuildId::parse(id);
    if (!parsed) {
        owner.error = jsonError(404, "NotFound", fmt::format("'{}' is not a build id", id));
    } else if (parsed->host == app.hostname() || wasForwarded(request)) {
        // local
    } else if (auto peer = app.peers().byHostname(parsed->host); !peer) {
        owner.error =
            jsonError(404, "NotFound", fmt::format("no host '{}' in this fleet", parsed->host));
    } else if (!peer->healthy) {
        owner.error = jsonError(503, "HostDown",
                                fmt::format("host '{}' ({}) is down", parsed->host, peer->url));
    } else {
        owner.peer = peer;
    }
    return owner;
}

Response forBuild(App& app, Request& request,
                  const std::function<Response(const std::string& id)>& local) {
    const auto& id = request.params.at("id");
    auto owner = findOwner(app, request, id);
    if (owner.error) {
        return *owner.error;
    }
    if (owner.peer) {
        return forwardTo(app, owner.peer->url, request);
    }
    try {
        return local(id);
    } catch (const sdbus::Error& e) {
        return responseForDbusError(e);
    }
}

std::string targetOf(const Request& request) {
    std::string target = percentEncode(request.path);
    char separator = '?';
    for (const auto& [key, value] : request.query) {
        target += separator + percentEncode(key) + "=" + percentEncode(value);
        separator = '&';
    }
    return target;
}

PeerRequest peerRequestFor(const Request& request) {
    PeerRequest out;
    out.method = request.method;
    out.target = targetOf(request);
    out.body = request.body;
    out.contentType = request.header("content-type");
    out.headers.emplace_back(kForwardedHeader, "1");
    if (!request.identity.empty()) {
        out.headers.emplace_back(kSubmitterHeader, request.identity);
        out.headers.emplace_back(kRoleHeader, tokenRoleName(request.role));
    }
    for (const char* name : {"accept", "range", "if-none-match", "last-event-id"}) {
        if (auto value = request.header(name); !value.empty()) {
            out.headers.emplace_back(name, value);
        }
    }
    return out;
}

Response forwardTo(App& app, const std::string& url, const Request& request) {
    try {
        auto answer = app.peers().client(url).request(peerRequestFor(request),
                                                      app.peers().options().requestTimeout);
        app.peers().recordForward(url, true);
        Response response;
        response.status = answer.status;
        response.contentType = answer.contentType;
        response.body = std::move(answer.body);
        response.headers = std::move(answer.headers);
        response.fromPeer = true;
        return response;
    } catch (const PeerError& e) {
        app.peers().recordForward(url, false);
        log::warning("forwarding {} {} to {}: {}", request.method, request.path, url, e.what());
        return unreachable(url, e.what());
    }
}

Response forwardStreamTo(App& app, const std::string& url, const Request& request,
                         std::chrono::milliseconds idleTimeout) {
    try {
        std::shared_ptr<PeerStream> stream = app.peers().client(url).stream(
            peerRequestFor(request), app.peers().options().requestTimeout, idleTimeout);
        app.peers().recordForward(url, true);
        Response response;
        response.status = stream->head().status;
        response.contentType = stream->head().contentType;
        response.headers = stream->head().headers;
        response.streamSize = stream->head().contentLength;
        response.fromPeer = true;
        response.stream = [stream](char* buffer, std::size_t max) -> long {
            try {
                auto n = stream->read(buffer, max);
                return n == 0 ? -1 : static_cast<long>(n);
            } catch (const PeerError& e) {
                log::warning("stream from peer broke: {}", e.what());
                return -1;
            }
        };
        return response;
    } catch (const PeerError& e) {
        app.peers().recordForward(url, false);
        return unreachable(url, e.what());
    }
}

}  // namespace imagebuild::forwarder
