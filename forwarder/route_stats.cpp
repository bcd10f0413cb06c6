// GET /v1/stats?days=N: the fleet's builds of the last N days (default 14,
// at most 90) added up per day, per type and per host (stats.hpp): this
// host's part from its agent's ListBuilds rows, read in pages with the
// `after` cursor, and every healthy peer's part, asked at once with
// ?scope=local (which answers the local part with its samples). A host that
// does not answer is named in "unreachable"; the others still count.
#include <sdbus-c++/Error.h>

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/build_id.hpp"
#include "common/clock.hpp"
#include "forwarder/app.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/peers.hpp"
#include "forwarder/routes.hpp"
#include "forwarder/stats.hpp"

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

// Rows asked of the agent per ListBuilds call.
constexpr std::uint32_t kStatsPageRows = 1000;

std::optional<unsigned> parseDays(const std::string& text) {
    if (text.empty()) {
        return kDefaultStatsDays;
    }
    unsigned days = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), days);
    if (error != std::errc() || end != text.data() + text.size() || days < 1 ||
        days > kMaxStatsDays) {
        return std::nullopt;
    }
    return days;
}

// The local agent's builds submitted in the window, a page at a time: the
// first page after the window's start, each next one after the last id
// seen (ids count up in submission order). A client that hands over more
// than a page, or rows outside it (a cached whole list), is read the same:
// only rows newer than the last one counted are counted.
void addLocalBuilds(App& app, StatsPart& part, const StatsWindow& window) {
    BuildListFilter filter;
    filter.limit = kStatsPageRows;
    filter.after = window.fromUsec > 0 ? window.fromUsec - 1 : 0;
    std::uint64_t last = 0;
    std::string lastId;
    for (;;) {
        std::size_t counted = 0;
        app.agent().listEach(filter, [&](BuildInfo&& build) {
            auto id = BuildId::parse(build.id);
            if (!id || (!lastId.empty() && id->number <= last) ||
                !window.contains(build.submittedAt)) {
                return;
            }
            last = id->number;
            lastId = build.id;
            ++counted;
            part.add(build);
        });
        if (counted < kStatsPageRows) {
            return;
        }
        filter.after = lastId;
    }
}

void addPeersParts(App& app, StatsPart& part, const Request& request, unsigned days) {
    auto peers = app.peers().snapshot();
    Request local = request;
    local.query = {{"scope", "local"}, {"days", std::to_string(days)}};
    local.headers.erase("if-none-match");
    auto forwarded = forwardToEach(app, peers, local);
    for (std::size_t i = 0; i < peers.size(); ++i) {
        json answer;
        if (forwarded[i] && forwarded[i]->status == 200) {
            answer = json::parse(forwarded[i]->body, nullptr, false);
        }
        if (!part.merge(answer)) {
            part.unreachable(peers[i].hostname.empty() ? peers[i].url : peers[i].hostname);
        }
    }
}

Response handleStatsGet(App& app, Request& request) {
    auto days = parseDays(request.queryValue("days"));
    if (!days) {
        return jsonError(400, "InvalidQuery",
                         fmt::format("days must be a whole number from 1 to {}", kMaxStatsDays));
    }
    auto window = statsWindow(*days, realtimeUsec());
    StatsPart part(window);
    try {
        addLocalBuilds(app, part, window);
        part.answered(app.hostname());
    } catch (const sdbus::Error& e) {
        if (statusForDbusError(e.getName()) != 503) {
            return responseForDbusError(e);
        }
        part.unreachable(app.hostname());
    }
    bool localOnly = request.queryValue("scope") == "local" || wasForwarded(request);
    if (localOnly) {
        return jsonResponse(200, part.partJson().dump());
    }
    addPeersParts(app, part, request, *days);
    return jsonResponse(200, part.answerJson().dump());
}

}  // namespace

void registerStats(App& app) {
    app.router().add("GET", "/v1/stats", Access::Read,
                     std::bind_front(handleStatsGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
