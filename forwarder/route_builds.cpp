// /v1/builds: submit (placed on a host that serves the spec), fleet-wide list,
// get and cancel (served by the host the id names). D-Bus errors are mapped
// in dbus_errors.cpp only.
#include <sdbus-c++/Error.h>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/build_json.hpp"
#include "forwarder/agent_on_loop.hpp"
#include "forwarder/app.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/build_cursor.hpp"
#include "forwarder/build_query.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/fleet.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/kickstart_upload.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/placement.hpp"
#include "forwarder/routes.hpp"
#include "forwarder/submit_spec.hpp"
#include "forwarder/upload_form.hpp"

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

Response buildResponse(unsigned status, const BuildInfo& info) {
    auto response = jsonResponse(status, json(info).dump());
    if (status == 201) {
        response.headers.emplace_back("Location", "/v1/builds/" + info.id);
    }
    return response;
}

// ---- POST /v1/builds

Response afterBuildsPostLocal(App& app, const std::string& id) {
    return buildResponse(201, app.agent().get(id));
}

Response submitLocally(App& app, const BuildSpec& spec) {
    try {
        return afterBuildsPostLocal(app, app.agent().submit(specToVariants(spec)));
    } catch (const sdbus::Error& e) {
        return responseForDbusError(e);
    }
}

Response noHostFor(const BuildSpec& spec, const std::vector<HostInfo>& hosts) {
    bool downHostServes = std::any_of(hosts.begin(), hosts.end(), [&](const HostInfo& h) {
        return !h.healthy && serves(h, spec.type, spec.arch, spec.release);
    });
    auto what = fmt::format("{} for {}/{}", spec.type, spec.arch, spec.release);
    auto response =
        downHostServes
            ? jsonError(503, "HostDown", "every host that builds " + what + " is down; try later")
            : jsonError(422, "Unsupported", "no host in the fleet builds " + what);
    auto body = json::parse(response.body);
    body["fleet"] = fleetOffer(hosts);
    response.body = body.dump() + "\n";
    return response;
}

// The spec of a JSON or form request; a form's request becomes the one a
// peer is sent (JSON, or a form of `spec` and `rpm` files). The refusal if
// the spec is bad.
std::optional<Response> readSpec(App& app, Request& request, BuildSpec& spec) {
    if (isMultipartForm(request)) {
        try {
            auto form = specFromForm(request.form, app.config());
            spec = std::move(form.spec);
            request.body = std::move(form.body);
            request.headers["content-type"] = std::move(form.contentType);
        } catch (const UploadError& e) {
            return jsonError(e.status, e.error, e.what());
        }
        request.form.clear();
        return std::nullopt;
    }
    try {
        spec = parseSubmitBody(request.body);
    } catch (const SpecError& e) {
        return jsonError(400, "InvalidSpec", e.what());
    }
    return std::nullopt;
}

Response handleBuildsPost(App& app, Request& request) {
    BuildSpec spec;
    if (auto refused = readSpec(app, request, spec)) {
        return *refused;
    }
    if (auto refused = refusePriority(request, spec.priority)) {
        return *refused;
    }
    // Who submitted over HTTP: the token's name (the agent lets the
    // forwarder's user do so: polkit action org.imagebuild.submit-for).
    if (!request.identity.empty()) {
        spec.submitter = request.identity;
    }
    if (wasForwarded(request)) {
        return submitLocally(app, spec);
    }
    auto hosts = fleetHosts(app);
    auto candidates = placementCandidates(hosts, spec.type, spec.arch, spec.release);
    if (candidates.empty()) {
        return noHostFor(spec, hosts);
    }
    Response last;
    for (const auto& host : candidates) {
        if (host.url == app.publicUrl() && host.hostname == app.hostname()) {
            return submitLocally(app, spec);
        }
        last = forwardTo(app, host.url, request);
        if (last.status != 502) {
            return last;
        }
    }
    return last;
}

// ---- GET /v1/builds

// What one peer answered for its own part of GET /v1/builds.
struct PeerBuilds {
    bool answered = false;
    json builds = json::array();
    json unreachable = json::array();  // the peer's own agent, when it did not answer
    std::size_t notSent = 0;           // counted but not sent (asked for the top only)
    bool more = false;                 // a cursor page: the peer has more after it
};

// A peer's answer to its part of the list.
PeerBuilds peerBuildsOf(const Response& answer) {
    PeerBuilds out;
    auto body = json::parse(answer.body, nullptr, false);
    if (answer.status != 200 || !body.contains("builds") || !body["builds"].is_array()) {
        return out;
    }
    out.answered = true;
    auto sent = body["builds"].size();
    if (auto total = body.find("total"); total != body.end() && total->is_number_unsigned()) {
        out.notSent = std::max<std::size_t>(total->get<std::size_t>(), sent) - sent;
    }
    out.builds = std::move(body["builds"]);
    if (auto next = body.find("next_cursor"); next != body.end()) {
        out.more = next->is_string();
    }
    if (auto names = body.find("unreachable"); names != body.end() && names->is_array()) {
        for (auto& name : *names) {
            if (name.is_string()) {
                out.unreachable.push_back(std::move(name));
            }
        }
    }
    return out;
}

// The peers that may hold builds of the query's host, and their answers to
// `request`, asked all at once.
std::vector<PeerBuilds> askPeers(App& app, const BuildQuery& query, const Request& request,
                                 std::vector<PeerState>& peers) {
    for (auto& peer : app.peers().snapshot()) {
        if (query.host.empty() || query.host == peer.hostname || peer.hostname.empty()) {
            peers.push_back(std::move(peer));
        }
    }
    Request local = request;
    local.query["scope"] = "local";
    auto forwarded = forwardToEach(app, peers, local);
    std::vector<PeerBuilds> answers(peers.size());
    for (std::size_t i = 0; i < peers.size(); ++i) {
        if (forwarded[i]) {
            answers[i] = peerBuildsOf(*forwarded[i]);
        }
    }
    return answers;
}

void addUnreachable(const PeerState& peer, PeerBuilds& answer, json& unreachable) {
    if (!answer.answered) {
        unreachable.push_back(peer.hostname.empty() ? peer.url : peer.hostname);
    }
    for (auto& name : answer.unreachable) {
        unreachable.push_back(std::move(name));
    }
}

// The peers' matching builds, asked all at once; `unreachable` names the
// peers that are down or did not answer, and those whose agent did not.
void addPeersBuilds(App& app, const BuildQuery& query, const Request& request, json& builds,
                    json& unreachable, std::size_t& notFetched) {
    std::vector<PeerState> peers;
    auto answers = askPeers(app, query, request, peers);
    for (std::size_t i = 0; i < peers.size(); ++i) {
        auto& answer = answers[i];
        addUnreachable(peers[i], answer, unreachable);
        for (auto& build : answer.builds) {
            builds.push_back(std::move(build));
        }
        notFetched += answer.notSent;
    }
}

// A cursor page: this host's agent lists one page after the cursor
// (ListBuilds' limit and before/after), each peer its own, and the pages
// are merged by time (build_cursor.hpp).
Response handleBuildsPage(App& app, Request& request, const BuildQuery& query) {
    std::vector<SourcePage> sources;
    json unreachable = json::array();
    if (query.host.empty() || query.host == app.hostname()) {
        try {
            SourcePage local;
            auto filter = agentFilterForPage(query, app.hostname());
            std::size_t rows = 0;
            app.agent().listEach(filter, [&local, &rows](BuildInfo&& build) {
                ++rows;
                local.builds.push_back(json(build));
            });
            local.more = filter.limit && rows >= *filter.limit;
            sources.push_back(std::move(local));
        } catch (const sdbus::Error& e) {
            if (statusForDbusError(e.getName()) != 503) {
                return responseForDbusError(e);
            }
            unreachable.push_back(app.hostname());
        }
    }
    if (request.queryValue("scope") != "local" && !wasForwarded(request)) {
        Request forwarded = request;
        forwarded.headers.erase("if-none-match");  // the client's tag is for the merged list
        std::vector<PeerState> peers;
        auto answers = askPeers(app, query, forwarded, peers);
        for (std::size_t i = 0; i < peers.size(); ++i) {
            addUnreachable(peers[i], answers[i], unreachable);
            if (answers[i].answered) {
                sources.push_back({std::move(answers[i].builds), answers[i].more});
            }
        }
    }
    auto page = mergePages(std::move(sources), query);
    json body{{"builds", std::move(page.builds)},
              {"unreachable", std::move(unreachable)},
              {"limit", *query.limit},
              {"next_cursor", std::move(page.nextCursor)}};
    return jsonResponse(200, body.dump());
}

Response handleBuildsGet(App& app, Request& request) {
    BuildQuery query;
    try {
        query = parseBuildQuery(request);
    } catch (const QueryError& e) {
        return jsonError(400, "InvalidQuery", e.what());
    }
    if (query.paged) {
        return handleBuildsPage(app, request, query);
    }
    json builds = json::array();
    json unreachable = json::array();
    std::size_t notFetched = 0;
    bool localOnly = request.queryValue("scope") == "local" || wasForwarded(request);
    if (query.host.empty() || query.host == app.hostname()) {
        try {
            LocalPage page(query);
            app.agent().listEach(query.filter,
                                 [&page](BuildInfo&& build) { page.add(std::move(build)); });
            builds = page.take(notFetched);
        } catch (const sdbus::Error& e) {
            if (statusForDbusError(e.getName()) != 503) {
                return responseForDbusError(e);
            }
            unreachable.push_back(app.hostname());
        }
    }
    if (!localOnly) {
        Request filtered = request;
        peerQueryFor(query, filtered.query);
        filtered.headers.erase("if-none-match");  // the client's tag is for the merged list
        addPeersBuilds(app, query, filtered, builds, unreachable, notFetched);
    }
    return jsonResponse(
        200, buildListBody(std::move(builds), std::move(unreachable), query, notFetched).dump());
}

// ---- GET and DELETE /v1/builds/{id}

Response handleBuildGet(App& app, Request& request) {
    return forBuild(app, request,
                    [&](const std::string& id) { return buildResponse(200, app.agent().get(id)); });
}

// The same answer for a build of this host, asked from the gate's loop.
void askBuildOnLoop(AgentOnLoop& agent, const std::string& id,
                    std::function<void(Response&&)> done) {
    agent.getBuild(id, [done = std::move(done)](BuildInfo* build, const sdbus::Error* error) {
        done(build ? buildResponse(200, *build) : responseForDbusError(*error));
    });
}

// Decided here, on the host that owns the build (a forwarded DELETE carries
// the token's name and role): the agent sees only this forwarder's uid.
Response handleBuildDelete(App& app, Request& request) {
    return forBuild(app, request, [&](const std::string& id) {
        if (auto refused = refuseCancel(request, app.agent().get(id), getuid())) {
            return *refused;
        }
        app.agent().cancel(id);
        return buildResponse(200, app.agent().get(id));
    });
}

}  // namespace

void registerBuilds(App& app) {
    auto& router = app.router();
    router.add("POST", "/v1/builds", Access::Write,
               std::bind_front(handleBuildsPost, std::ref(app)), BodyKind::JsonOrForm);
    router.add("GET", "/v1/builds", Access::Read, std::bind_front(handleBuildsGet, std::ref(app)));
    router.addRelayedOnLoop("GET", "/v1/builds/{id}", Access::Read,
                            std::bind_front(handleBuildGet, std::ref(app)), askBuildOnLoop);
    router.add("DELETE", "/v1/builds/{id}", Access::Write,
               std::bind_front(handleBuildDelete, std::ref(app)));
}

}  // namespace imagebuild::forwarder
