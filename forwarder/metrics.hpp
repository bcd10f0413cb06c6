// Counters behind GET /metrics, rendered in the Prometheus text format
// (version 0.0.4). Thread-safe: every connection thread records into it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "forwarder/resource_totals.hpp"

namespace imagebuild::forwarder {

class Metrics {
public:
    static constexpr std::array<double, 11> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1.0,  2.5,   5.0,  10.0};

    // `route` is a route's pattern or "unmatched"; a method other than the
    // standard seven counts as "other": the label sets stay bounded whatever
    // clients send.
    void observeRequest(const std::string& route, const std::string& method, unsigned code,
                        double seconds);
    void countForwarded(const std::string& peer, const std::string& outcome);
    void setPeerHealth(const std::string& peer, bool healthy);
    // A connection refused before any route saw it (a bad head, the head
    // deadline, the per-address cap): by our JSON error name and status. A
    // name not in refusalReasons() counts as "other".
    void countRefusal(unsigned status, const std::string& reason);

    // `buildsByState`: this host's builds per state, read at scrape time;
    // `failedByClass`: those that did not succeed, per (state, failure
    // class); `resources`: the resource record of its ended builds per type.
    std::string render(
        const std::map<std::string, std::uint64_t>& buildsByState,
        const std::map<std::pair<std::string, std::string>, std::uint64_t>& failedByClass = {},
        const ResourceTotals& resources = {}) const;

private:
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> buckets{};
        std::uint64_t count = 0;
        double sum = 0;
    };

    mutable std::mutex mutex_;
    // std::less<>: looked up without copying the labels (observeRequest).
    std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t, std::less<>> requests_;
    std::map<std::string, Histogram, std::less<>> latency_;  // by route
    std::map<std::pair<std::string, std::string>, std::uint64_t> forwarded_;
    std::map<std::string, bool> peerHealth_;
    std::map<std::pair<std::string, unsigned>, std::uint64_t> refusals_;
};

// The error names the gate and the head checks refuse with: the reason
// labels of imagebuild_forwarder_refused_total.
const std::array<std::string_view, 7>& refusalReasons();

// The method's metrics label: itself if standard, else "other".
const std::string& methodLabel(const std::string& method);

// Escapes a label value as the exposition format requires (\\, \", \n).
std::string escapeLabelValue(const std::string& value);

}  // namespace imagebuild::forwarder
