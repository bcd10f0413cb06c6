#include "forwarder/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace imagebuild::forwarder {

std::string escapeLabelValue(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

const std::string& methodLabel(const std::string& method) {
    static const std::array<std::string, 7> known{"GET",    "HEAD",  "POST",   "PUT",
                                                  "DELETE", "PATCH", "OPTIONS"};
    static const std::string other = "other";
    for (const auto& name : known) {
        if (name == method) {
            return name;
        }
    }
    return other;
}

void Metrics::observeRequest(const std::string& route, const std::string& rawMethod, unsigned code,
                             double seconds) {
    // Clients choose the method: any they invent shares one series.
    const auto& method = methodLabel(rawMethod);
    code = code >= 100 && code <= 599 ? code : 0;
    std::lock_guard lock(mutex_);
    auto counter = requests_.find(
        std::tuple<std::string_view, std::string_view, unsigned>(route, method, code));
    if (counter == requests_.end()) {
        counter = requests_.emplace(std::tuple(route, method, code), 0).first;
    }
    ++counter->second;
    auto histogram = latency_.find(std::string_view(route));
    if (histogram == latency_.end()) {
        histogram = latency_.emplace(route, Histogram{}).first;
    }
    auto& h = histogram->second;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) {
            ++h.buckets[i];
        }
    }
    ++h.count;
    h.sum += seconds;
}

void Metrics::countForwarded(const std::string& peer, const std::string& outcome) {
    std::lock_guard lock(mutex_);
    ++forwarded_[{peer, outcome}];
}

const std::array<std::string_view, 7>& refusalReasons() {
    static const std::array<std::string_view, 7> reasons{
        "BadRequest",     "UriTooLong",         "HeadersTooLarge", "HttpVersionNotSupported",
        "RequestTimeout", "TooManyConnections", "LengthRequired"};
    return reasons;
}

void Metrics::countRefusal(unsigned status, const std::string& reason) {
    const auto& known = refusalReasons();
    bool listed = std::find(known.begin(), known.end(), reason) != known.end();
    if (status < 400 || status > 599) {
        status = 0;  // never: the gate refuses with 4xx/5xx only
    }
    std::lock_guard lock(mutex_);
    ++refusals_[{listed ? reason : "other", status}];
}

void Metrics::setPeerHealth(const std::string& peer, bool healthy) {
    std::lock_guard lock(mutex_);
    peerHealth_[peer] = healthy;
}

namespace {

// A figure no build of the type had has a count of 0 and no sum: "not
// available" is not a sum of 0.
void renderResources(std::string& out, const ResourceTotals& resources) {
    out +=
        "# HELP imagebuild_forwarder_build_resource_sum What this host's ended builds used, "
        "by type and resource, summed over those whose host measured it.\n";
    out += "# TYPE imagebuild_forwarder_build_resource_sum gauge\n";
    for (const auto& [key, total] : resources) {
        if (total.builds != 0) {
            out += fmt::format(
                "imagebuild_forwarder_build_resource_sum{{type=\"{}\",resource=\"{}\"}} {}\n",
                escapeLabelValue(key.first), key.second, total.sum);
        }
    }
    out +=
        "# HELP imagebuild_forwarder_build_resource_builds This host's ended builds whose "
        "resource was measured, by type and resource (0: not available on this host).\n";
    out += "# TYPE imagebuild_forwarder_build_resource_builds gauge\n";
    for (const auto& [key, total] : resources) {
        out += fmt::format(
            "imagebuild_forwarder_build_resource_builds{{type=\"{}\",resource=\"{}\"}} {}\n",
            escapeLabelValue(key.first), key.second, total.builds);
    }
}

}  // namespace

std::string Metrics::render(
    const std::map<std::string, std::uint64_t>& buildsByState,
    const std::map<std::pair<std::string, std::string>, std::uint64_t>& failedByClass,
    const ResourceTotals& resources) const {
    std::lock_guard lock(mutex_);
    std::string out;
    out += "# HELP imagebuild_forwarder_requests_total HTTP requests by route, method and code.\n";
    out += "# TYPE imagebuild_forwarder_requests_total counter\n";
    for (const auto& [key, n] : requests_) {
        const auto& [route, method, code] = key;
        out += fmt::format(
            "imagebuild_forwarder_requests_total{{route=\"{}\",method=\"{}\",code=\"{}\"}} {}\n",
            escapeLabelValue(route), escapeLabelValue(method), code, n);
    }
    out += "# HELP imagebuild_forwarder_request_duration_seconds Time to produce a response.\n";
    out += "# TYPE imagebuild_forwarder_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
        auto label = escapeLabelValue(route);
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            out += fmt::format(
                "imagebuild_forwarder_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} "
                "{}\n",
                label, kBuckets[i], h.buckets[i]);
        }
        out += fmt::format(
            "imagebuild_forwarder_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} "
            "{}\n",
            label, h.count);
        out += fmt::format("imagebuild_forwarder_request_duration_seconds_sum{{route=\"{}\"}} {}\n",
                           label, h.sum);
        out +=
            fmt::format("imagebuild_forwarder_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                        label, h.count);
    }
    out += "# HELP imagebuild_forwarder_builds This host's builds by state.\n";
    out += "# TYPE imagebuild_forwarder_builds gauge\n";
    for (const auto& [state, n] : buildsByState) {
        out += fmt::format("imagebuild_forwarder_builds{{state=\"{}\"}} {}\n",
                           escapeLabelValue(state), n);
    }
    out +=
        "# HELP imagebuild_forwarder_builds_failed This host's builds that did not succeed, "
        "by state and failure class (build, infra, timeout, cancelled).\n";
    out += "# TYPE imagebuild_forwarder_builds_failed gauge\n";
    for (const auto& [key, n] : failedByClass) {
        out += fmt::format("imagebuild_forwarder_builds_failed{{state=\"{}\",class=\"{}\"}} {}\n",
                           escapeLabelValue(key.first), escapeLabelValue(key.second), n);
    }
    renderResources(out, resources);
    out += "# HELP imagebuild_forwarder_peer_up 1 if the peer answered its last health check.\n";
    out += "# TYPE imagebuild_forwarder_peer_up gauge\n";
    for (const auto& [peer, up] : peerHealth_) {
        out += fmt::format("imagebuild_forwarder_peer_up{{peer=\"{}\"}} {}\n",
                           escapeLabelValue(peer), up ? 1 : 0);
    }
    out += "# HELP imagebuild_forwarder_forwarded_total Requests forwarded to peers.\n";
    out += "# TYPE imagebuild_forwarder_forwarded_total counter\n";
    for (const auto& [key, n] : forwarded_) {
        out +=
            fmt::format("imagebuild_forwarder_forwarded_total{{peer=\"{}\",outcome=\"{}\"}} {}\n",
                        escapeLabelValue(key.first), escapeLabelValue(key.second), n);
    }
    out +=
        "# HELP imagebuild_forwarder_refused_total Connections refused before any route "
        "saw them, by reason and status.\n";
    out += "# TYPE imagebuild_forwarder_refused_total counter\n";
    for (const auto& [key, n] : refusals_) {
        out += fmt::format("imagebuild_forwarder_refused_total{{reason=\"{}\",status=\"{}\"}} {}\n",
                           key.first, key.second, n);
    }
    return out;
}

}  // namespace imagebuild::forwarder
