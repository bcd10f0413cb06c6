// GET /v1/stats: what the fleet's builds of the last days add up to, so a
// dashboard draws its charts from one small answer instead of fetching every
// build. Pure logic; route_stats.cpp feeds it the local agent's rows and the
// peers' parts.
//
// A part (one host's, or several merged) holds, for the builds SUBMITTED in
// the window (days counted in UTC):
// - per day: how many, by state, by failure class, and by outcome (the state
//   and the class together, "failed:infra", what a stacked chart draws);
// - per (host, type): every queue wait (started - submitted) and every
//   duration (finished - started) in usec. The samples themselves, not
//   summaries: medians and percentiles of several hosts cannot be merged from
//   theirs, so a peer sends its samples (scope=local) and the asking
//   forwarder summarizes the fleet's exactly.
// See "GET /v1/stats" in docs/imagebuild-forwarder.md for the JSON.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/build_info.hpp"

namespace imagebuild::forwarder {

inline constexpr unsigned kDefaultStatsDays = 14;
inline constexpr unsigned kMaxStatsDays = 90;
inline constexpr std::uint64_t kUsecPerDay = 86'400'000'000;

// The days asked for: `days` whole UTC days, the last one today's.
struct StatsWindow {
    unsigned days = kDefaultStatsDays;
    std::uint64_t fromUsec = 0;  // 00:00 UTC of the first day
    std::uint64_t nowUsec = 0;

    bool contains(std::uint64_t usec) const { return usec >= fromUsec; }
};
StatsWindow statsWindow(unsigned days, std::uint64_t nowUsec);

// "2026-12-03": the UTC day of a time in usec since the epoch.
std::string utcDay(std::uint64_t usec);

// count, median, 90th percentile and maximum, by the nearest-rank method
// (the value at rank ceil(p * count), so always one of the samples: a median
// of 2 samples is the smaller). All 0 when there are none.
struct Summary {
    std::size_t count = 0;
    std::uint64_t median = 0;
    std::uint64_t p90 = 0;
    std::uint64_t max = 0;
};
Summary summarize(std::vector<std::uint64_t> values);
// {"count", "median_usec", "p90_usec", "max_usec"}; the three null when count is 0.
nlohmann::json summaryJson(const Summary& summary);

class StatsPart {
public:
    explicit StatsPart(const StatsWindow& window);

    // A build of a host that answered; counted if submitted in the window.
    void add(const BuildInfo& build);
    // A host whose builds are in this part (answered), or one that did not answer.
    void answered(const std::string& host);
    void unreachable(const std::string& host);

    // Another part, as partJson() wrote it (a peer's answer to scope=local).
    // Days outside this window are left out. Returns false, merging nothing,
    // when it does not have that shape.
    bool merge(const nlohmann::json& part);

    // The answer of GET /v1/stats: days, from, to, per_day, queue_wait and
    // duration (per_type, per_host), hosts, unreachable.
    nlohmann::json answerJson() const;
    // The same plus "samples", what a peer sends for merging.
    nlohmann::json partJson() const;

private:
    struct DayCounts {
        std::uint64_t total = 0;
        std::map<std::string, std::uint64_t> states;
        std::map<std::string, std::uint64_t> failureClasses;
        std::map<std::string, std::uint64_t> outcomes;
    };
    struct Samples {
        std::vector<std::uint64_t> queueWait;
        std::vector<std::uint64_t> duration;
    };
    using HostType = std::pair<std::string, std::string>;

    StatsWindow window_;
    std::vector<std::string> dayNames_;      // oldest first
    std::map<std::string, DayCounts> days_;  // by day name, only days of the window
    std::map<HostType, Samples> samples_;    // by (host, type)
    std::vector<std::string> hosts_;         // answered, in order of arrival
    std::vector<std::string> unreachable_;
};

}  // namespace imagebuild::forwarder
