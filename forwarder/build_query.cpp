#include "forwarder/build_query.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "common/build_id.hpp"
#include "common/build_info.hpp"

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

std::vector<std::string> splitCommas(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        auto item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) {
            out.push_back(item);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return out;
}

std::size_t parseCount(const std::string& key, const std::string& text, std::size_t min,
                       std::size_t max) {
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
        value > max) {
        throw QueryError(
            fmt::format("query parameter '{}' must be an integer in {}..{}, not \"{}\"", key, min,
                        max, text.substr(0, 40)));
    }
    return value;
}

std::string field(const json& build, const char* key) {
    auto it = build.find(key);
    return it != build.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Submission order, then the owner and its counter: a stable order for paging
// even when many builds share a timestamp.
struct SortKey {
    std::uint64_t submittedAt = 0;
    std::string host;
    std::uint64_t number = 0;

    auto operator<=>(const SortKey&) const = default;
};

SortKey sortKeyOf(const json& build) {
    SortKey key;
    key.submittedAt = build.value("submitted_at", std::uint64_t{0});
    auto id = BuildId::parse(field(build, "id"));
    if (id) {
        key.host = id->host;
        key.number = id->number;
    } else {
        key.host = field(build, "id");
    }
    return key;
}

}  // namespace

bool BuildQuery::matches(const json& build) const {
    auto same = [&build](const std::string& wanted, const char* key) {
        return wanted.empty() || field(build, key) == wanted;
    };
    if (!states.empty() &&
        std::find(states.begin(), states.end(), field(build, "state")) == states.end()) {
        return false;
    }
    return same(host, "host") && same(arch, "arch") && same(release, "release") &&
           same(type, "type");
}

BuildQuery parseBuildQuery(const Request& request) {
    BuildQuery query;
    query.states = splitCommas(request.queryValue("state"));
    const auto& known = allBuildStates();
    for (const auto& state : query.states) {
        if (std::find(known.begin(), known.end(), state) == known.end()) {
            throw QueryError(
                fmt::format("query parameter 'state' holds \"{}\"; allowed: {} (comma-separated)",
                            state.substr(0, 40), fmt::join(known, ", ")));
        }
    }
    query.host = request.queryValue("host");
    query.arch = request.queryValue("arch");
    query.release = request.queryValue("release");
    query.type = request.queryValue("type");
    auto order = request.queryValue("order");
    if (order == "newest") {
        query.newestFirst = true;
    } else if (!order.empty() && order != "oldest") {
        throw QueryError(
            fmt::format("query parameter 'order' must be \"oldest\" or \"newest\", not \"{}\"",
                        order.substr(0, 40)));
    }
    if (request.query.count("limit")) {
        query.limit = parseCount("limit", request.queryValue("limit"), 1, kMaxPageSize);
    }
    if (request.query.count("offset")) {
        query.offset = parseCount("offset", request.queryValue("offset"), 0, SIZE_MAX / 2);
    }
    return query;
}

void peerQueryFor(const BuildQuery& query, std::map<std::string, std::string>& peerQuery) {
    peerQuery.erase("offset");
    if (query.limit && query.offset + *query.limit <= kMaxPageSize) {
        peerQuery["limit"] = std::to_string(query.offset + *query.limit);
        peerQuery["order"] = query.newestFirst ? "newest" : "oldest";
    } else {
        peerQuery.erase("limit");
        peerQuery.erase("order");
    }
}

json selectBuilds(json builds, const BuildQuery& query, std::size_t& total) {
    std::vector<std::pair<SortKey, json*>> kept;
    kept.reserve(builds.size());
    for (auto& build : builds) {
        if (query.matches(build)) {
            kept.emplace_back(sortKeyOf(build), &build);
        }
    }
    auto byKey = [&query](const auto& a, const auto& b) {
        return query.newestFirst ? b.first < a.first : a.first < b.first;
    };
    total = kept.size();
    auto first = std::min(query.offset, total);
    auto count = query.limit ? std::min(*query.limit, total - first) : total - first;
    // Only the page needs to be in order: partial_sort up to its end.
    std::partial_sort(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(first + count),
                      kept.end(), byKey);
    json page = json::array();
    for (std::size_t i = first; i < first + count; ++i) {
        page.push_back(std::move(*kept[i].second));
    }
    return page;
}

json buildListBody(json builds, json unreachable, const BuildQuery& query, std::size_t notFetched) {
    std::size_t total = 0;
    auto page = selectBuilds(std::move(builds), query, total);
    total += notFetched;
    auto shown = page.size();
    json body{
        {"builds", std::move(page)}, {"unreachable", std::move(unreachable)}, {"total", total}};
    if (query.limit) {
        auto end = query.offset + shown;
        body["offset"] = query.offset;
        body["limit"] = *query.limit;
        body["next"] = end < total ? json(end) : json(nullptr);
    }
    return body;
}

}  // namespace imagebuild::forwarder
