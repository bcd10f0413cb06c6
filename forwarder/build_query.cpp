#include "forwarder/build_query.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "common/build_id.hpp"
#include "common/build_info.hpp"
#include "common/build_json.hpp"
#include "forwarder/build_cursor.hpp"

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

using SortKey = BuildSortKey;

SortKey sortKeyOf(std::uint64_t submittedAt, const std::string& id) {
    SortKey key;
    key.submittedAt = submittedAt;
    if (auto parsed = BuildId::parse(id)) {
        key.host = parsed->host;
        key.number = parsed->number;
    } else {
        key.host = id;
    }
    return key;
}

SortKey sortKeyOf(const BuildInfo& build) {
    return sortKeyOf(build.submittedAt, build.id);
}

bool wanted(const std::string& wanted, const std::string& value) {
    return wanted.empty() || value == wanted;
}

// The builds of the array `builds` that match, the first `offset + limit` of
// them in the query's order, and how many matched.
std::vector<std::pair<SortKey, json*>> sortedMatches(json& builds, const BuildQuery& query,
                                                     std::size_t offset,
                                                     std::optional<std::size_t> limit,
                                                     std::size_t& total) {
    std::vector<std::pair<SortKey, json*>> kept;
    kept.reserve(builds.size());
    for (auto& build : builds) {
        if (query.matches(build)) {
            kept.emplace_back(forwarder::sortKeyOf(build), &build);
        }
    }
    auto byKey = [&query](const auto& a, const auto& b) {
        return query.newestFirst ? b.first < a.first : a.first < b.first;
    };
    total = kept.size();
    auto end = limit ? std::min(offset + *limit, total) : total;
    // Only the page needs to be in order: partial_sort up to its end.
    std::partial_sort(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(end), kept.end(),
                      byKey);
    kept.resize(end);
    return kept;
}

}  // namespace

BuildSortKey sortKeyOf(const json& build) {
    return sortKeyOf(build.value("submitted_at", std::uint64_t{0}), field(build, "id"));
}

bool BuildQuery::matches(const json& build) const {
    // A peer's build as JSON, through the one filter (common/list_builds.hpp).
    struct {
        std::string state, type, arch, release;
        std::uint32_t submitterUid;
    } fields{field(build, "state"), field(build, "type"), field(build, "arch"),
             field(build, "release"), build.value("submitter_uid", std::uint32_t{0})};
    return wanted(host, field(build, "host")) && imagebuild::matches(filter, fields);
}

bool BuildQuery::matches(const BuildInfo& build) const {
    return wanted(host, build.host) && imagebuild::matches(filter, build);
}

BuildQuery parseBuildQuery(const Request& request) {
    BuildQuery query;
    query.filter.states = splitCommas(request.queryValue("state"));
    const auto& known = allBuildStates();
    for (const auto& state : query.filter.states) {
        if (std::find(known.begin(), known.end(), state) == known.end()) {
            throw QueryError(
                fmt::format("query parameter 'state' holds \"{}\"; allowed: {} (comma-separated)",
                            state.substr(0, 40), fmt::join(known, ", ")));
        }
    }
    query.host = request.queryValue("host");
    query.filter.arch = request.queryValue("arch");
    query.filter.release = request.queryValue("release");
    query.filter.type = request.queryValue("type");
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
    bool offset = request.query.count("offset") != 0;
    if (offset) {
        query.offset = parseCount("offset", request.queryValue("offset"), 0, SIZE_MAX / 2);
    }
    query.paged = query.limit && !offset;
    if (request.query.count("cursor")) {
        if (!query.paged) {
            throw QueryError("query parameter 'cursor' needs 'limit' and no 'offset'");
        }
        query.cursor = parseBuildCursor(request.queryValue("cursor"));
    }
    return query;
}

void peerQueryFor(const BuildQuery& query, std::map<std::string, std::string>& peerQuery) {
    if (query.paged) {
        return;  // a peer lists its own page after the same cursor
    }
    peerQuery.erase("offset");
    if (query.limit && query.offset + *query.limit <= kMaxPageSize) {
        peerQuery["limit"] = std::to_string(query.offset + *query.limit);
        peerQuery["order"] = query.newestFirst ? "newest" : "oldest";
    } else {
        peerQuery.erase("limit");
        peerQuery.erase("order");
    }
}

LocalPage::LocalPage(const BuildQuery& query)
    : query_(query),
      keep_(query.limit ? std::optional(query.offset + *query.limit) : std::nullopt) {}

bool LocalPage::before(const SortKey& a, const SortKey& b) const {
    return query_.newestFirst ? b < a : a < b;
}

void LocalPage::add(BuildInfo&& build) {
    if (!query_.matches(build)) {
        return;
    }
    ++matched_;
    auto key = sortKeyOf(build);
    auto heapOrder = [this](const auto& a, const auto& b) {
        return before(a.first, b.first);
    };
    if (!keep_ || builds_.size() < *keep_) {
        order_.emplace_back(std::move(key), builds_.size());
        builds_.push_back(std::move(build));
        if (keep_) {
            std::push_heap(order_.begin(), order_.end(), heapOrder);
        }
    } else if (before(key, order_.front().first)) {
        // The last one on the page makes room: its slot takes the new build.
        std::pop_heap(order_.begin(), order_.end(), heapOrder);
        auto slot = order_.back().second;
        builds_[slot] = std::move(build);
        order_.back() = {std::move(key), slot};
        std::push_heap(order_.begin(), order_.end(), heapOrder);
    }
}

json LocalPage::take(std::size_t& notSent) {
    std::sort(order_.begin(), order_.end(),
              [this](const auto& a, const auto& b) { return before(a.first, b.first); });
    notSent += matched_ - builds_.size();
    json out = json::array();
    for (const auto& [key, slot] : order_) {
        out.push_back(builds_[slot]);
    }
    order_.clear();
    builds_.clear();
    matched_ = 0;
    return out;
}

json selectBuilds(json builds, const BuildQuery& query, std::size_t& total) {
    auto kept = sortedMatches(builds, query, query.offset, query.limit, total);
    json page = json::array();
    for (std::size_t i = std::min(query.offset, kept.size()); i < kept.size(); ++i) {
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
