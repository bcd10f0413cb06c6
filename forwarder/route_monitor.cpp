// GET /monitor/{id}: the build's log from the journal of the host that runs
// it (forwarded there otherwise). Text for curl, HTML for browsers, SSE for
// EventSource; ?follow=1 streams text until the build ends.
#include <sdbus-c++/Error.h>

#include <fmt/format.h>

#include <chrono>

#include "forwarder/app.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/follow_hub.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/log.hpp"
#include "forwarder/monitor_stream.hpp"
#include "forwarder/routes.hpp"
#include "forwarder/web_files.hpp"

namespace imagebuild::forwarder {

namespace {

Response afterMonitorGet(App& app, const Request& request, BuildInfo build) {
    auto format = chooseMonitorFormat(request);
    bool follow = followsLog(request, format);
    auto resume = request.header("last-event-id");
    if (resume.empty()) {
        resume = request.queryValue("after");
    }
    Response response;
    if (follow) {
        // Every follower of the build reads the one reader the hub keeps.
        // On a loop (request.parking set) it parks instead of blocking.
        response.stream = app.followHub().follow(std::move(build), format, resume,
                                                 request.connectionFd, request.parking);
        response.parks = request.parking != nullptr;
    } else {
        auto stream = std::make_shared<MonitorStream>(std::move(build), format, resume);
        response.stream = bodyStreamOf(std::move(stream));
    }
    response.contentType = contentTypeOf(format);
    response.headers.emplace_back("Cache-Control", "no-cache");
    // nginx and friends must not buffer a live stream.
    response.headers.emplace_back("X-Accel-Buffering", "no");
    if (format == MonitorFormat::Html) {
        addPageSecurityHeaders(response);
    }
    return response;
}

// A follower of a peer's build: the hub's one stream from the owner, shared
// by every follower of the build in this format from its first line; one of
// its own with a resume point (the thread relay's bytes: the user's token,
// the Last-Event-ID). Held by no thread of this host.
Response followPeerBuild(App& app, const Request& request, const PeerState& owner,
                         MonitorFormat format) {
    const auto& id = request.params.at("id");
    bool resumes = !request.header("last-event-id").empty() || !request.queryValue("after").empty();
    PeerFollow peer;
    peer.url = owner.url;
    HttpRequest ask = peerRequestFor(request);
    if (!resumes) {
        // Every follower asks the same: the owner's log from its first line.
        ask = HttpRequest{};
        ask.method = "GET";
        ask.target =
            "/monitor/" + id + (format == MonitorFormat::EventStream ? "?format=sse" : "?follow=1");
        ask.headers.emplace_back(kForwardedHeader, "1");
        peer.shareKey = fmt::format("{} {}", id, contentTypeOf(format));
    }
    peer.request = loopRequestTo(app, owner, ask, false);
    // What the answer is made of, without the request: it may be made on
    // the hub's thread after this handler has returned.
    Request asked;  // what peerAnswer logs
    asked.method = request.method;
    asked.path = request.path;
    auto answer = [&app, url = owner.url, asked = std::move(asked),
                   parks = request.parking != nullptr](PeerFollowed followed) {
        if (!followed.head && followed.ours) {  // not the owner's doing: it is not marked down
            return jsonError(503, "Unavailable", followed.failure);
        }
        if (!followed.head) {
            HttpError error(HttpStep::Receive, "asking for the log", followed.failure, false);
            return peerAnswer(app, url, asked, nullptr, &error);
        }
        followed.head->body = std::move(followed.errorBody);
        auto response = peerAnswer(app, url, asked, &*followed.head, nullptr);
        response.stream = std::move(followed.stream);
        response.parks = parks;
        response.headers.emplace_back("X-Accel-Buffering", "no");
        return response;
    };
    if (auto later = request.answerLater) {
        // A loop: no worker waits for the owner's head.
        app.followHub().followPeerLater(
            id, std::move(peer), format, request.connectionFd, request.parking,
            [later, answer](PeerFollowed followed) { later->give(answer(std::move(followed))); });
        Response pending;
        pending.later = true;
        return pending;
    }
    return answer(app.followHub().followPeer(id, std::move(peer), format, request.connectionFd,
                                             request.parking));
}

Response handleMonitorGet(App& app, Request& request) {
    const auto& id = request.params.at("id");
    auto owner = findOwner(app, request, id);
    if (owner.error) {
        return *owner.error;
    }
    auto format = chooseMonitorFormat(request);
    bool follow = followsLog(request, format);
    if (owner.peer && follow) {
        if (owner.peer->port != 0) {
            return followPeerBuild(app, request, *owner.peer, format);
        }
        if (request.parking) {
            // A follower on a loop must never block, as forwardStreamTo's
            // would (read ahead, it would hold a worker while the build
            // runs); the hub needs the address the owner
            // answered a probe from to poll it, and none is known yet.
            return jsonError(503, "HostDown",
                             fmt::format("host {} has not answered a probe yet", owner.peer->url));
        }
    }
    if (owner.peer) {
        // A log read to its end comes as fast as the owner reads its journal:
        // a read ahead on a worker waits no longer than any peer answer. (A
        // follower here has no parking, a route's unit test: the owner sends
        // at least a keep-alive every 15 s on SSE, and a followed text log
        // may be silent for as long as a build step takes.)
        return forwardStreamTo(
            app, owner.peer->url, request,
            follow ? std::chrono::hours(1) : app.peers().options().requestTimeout);
    }
    if (follow) {
        // A followed build: the hub's word on it, not one bus call per follower.
        if (auto known = app.followHub().known(id)) {
            return afterMonitorGet(app, request, std::move(*known));
        }
    }
    try {
        return afterMonitorGet(app, request, app.agent().get(id));
    } catch (const sdbus::Error& e) {
        return responseForDbusError(e);
    }
}

}  // namespace

void registerMonitor(App& app) {
    app.router().add("GET", "/monitor/{id}", Access::Read,
                     std::bind_front(handleMonitorGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
