// GET /metrics: Prometheus text. Builds by state come from the local agent at
// scrape time; if it cannot be reached the other metrics are still served.
#include <sdbus-c++/Error.h>

#include <fmt/format.h>

#include "forwarder/app.hpp"
#include "forwarder/follow_hub.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/log.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

struct LocalBuildCounts {
    std::map<std::string, std::uint64_t> byState;
    std::map<std::pair<std::string, std::string>, std::uint64_t> failedByClass;
    std::vector<ResourceRecords::Ended> ended;
};

LocalBuildCounts localBuildCounts(App& app) {
    LocalBuildCounts counts;
    try {
        app.agent().listEach({}, [&counts](BuildInfo&& build) {
            ++counts.byState[build.state];
            if (!build.failureClass.empty()) {
                ++counts.failedByClass[{build.state, build.failureClass}];
            }
            if (build.finished()) {
                counts.ended.push_back({std::move(build.id), std::move(build.type)});
            }
        });
    } catch (const sdbus::Error& e) {
        log::warning("metrics: builds by state unavailable: {}", e.getMessage());
    }
    return counts;
}

// A list row has no resources: each ended build's record is asked once.
ResourceTotals resourceTotals(App& app, const std::vector<ResourceRecords::Ended>& ended) {
    return app.resourceRecords().totals(ended, [&app](const std::string& id) {
        return std::optional<ResourceUsage>(app.agent().get(id).resources);
    });
}

// The follow hub's: how many builds it reads for their followers, and how
// often it asked the agent about their states (a signal's worth, not a poll).
std::string followHubMetrics(const FollowHub& hub) {
    return fmt::format(
        "# HELP imagebuild_forwarder_followed_builds Builds whose log this host reads for "
        "followers now.\n"
        "# TYPE imagebuild_forwarder_followed_builds gauge\n"
        "imagebuild_forwarder_followed_builds {}\n"
        "# HELP imagebuild_forwarder_follow_state_asks_total Questions to the local agent about "
        "a followed build's state.\n"
        "# TYPE imagebuild_forwarder_follow_state_asks_total counter\n"
        "imagebuild_forwarder_follow_state_asks_total {}\n",
        hub.followedBuilds(), hub.stateAsks());
}

Response handleMetricsGet(App& app, Request&) {
    Response response;
    response.contentType = "text/plain; version=0.0.4; charset=utf-8";
    auto counts = localBuildCounts(app);
    response.body = app.metrics().render(counts.byState, counts.failedByClass,
                                         resourceTotals(app, counts.ended));
    response.body += followHubMetrics(app.followHub());
    return response;
}

}  // namespace

void registerMetrics(App& app) {
    app.router().add("GET", "/metrics", Access::Read,
                     std::bind_front(handleMetricsGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
