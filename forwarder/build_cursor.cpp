#include "forwarder/build_cursor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "common/build_id.hpp"

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

bool isAfter(const BuildQuery& query, const BuildSortKey& a, const BuildSortKey& b) {
    return query.newestFirst ? a < b : b < a;
}

}  // namespace

BuildSortKey parseBuildCursor(const std::string& text) {
    auto dot = text.find('.');
    BuildSortKey key;
    std::optional<BuildId> id;
    if (dot != std::string::npos) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + dot, key.submittedAt);
        if (ec == std::errc() && end == text.data() + dot && dot > 0) {
            id = BuildId::parse(text.substr(dot + 1));
        }
    }
    if (!id) {
        throw QueryError(fmt::format(
            "query parameter 'cursor' must be a next_cursor of an earlier answer, not \"{}\"",
            text.substr(0, 80)));
    }
    key.host = id->host;
    key.number = id->number;
    return key;
}

std::string buildCursorText(const BuildSortKey& key) {
    return fmt::format("{}.{}-{}", key.submittedAt, key.host, key.number);
}

BuildListFilter agentFilterForPage(const BuildQuery& query, const std::string& host) {
    auto filter = query.filter;
    filter.limit = static_cast<std::uint32_t>(query.limit.value_or(kMaxPageSize));
    if (!query.cursor) {
        if (!query.newestFirst) {
            filter.after = std::uint64_t{0};  // from the oldest
        }
        return filter;
    }
    const auto& c = *query.cursor;
    if (c.host == host) {
        // The host's own build: its number says where it is exactly.
        auto id = fmt::format("{}-{}", c.host, c.number);
        (query.newestFirst ? filter.before : filter.after) = id;
        return filter;
    }
    // Another host's build: by time. A build of this host submitted in the
    // same microsecond sorts by host name against it.
    auto t = c.submittedAt;
    if (query.newestFirst) {
        filter.before = host < c.host ? t + 1 : t;  // before: strictly older than
    } else {
        filter.after = host > c.host && t > 0 ? t - 1 : t;  // after: strictly newer than
    }
    return filter;
}

MergedPage mergePages(std::vector<SourcePage> sources, const BuildQuery& query) {
    std::vector<std::pair<BuildSortKey, json*>> all;
    bool more = false;
    for (auto& source : sources) {
        more = more || source.more;
        for (auto& build : source.builds) {
            auto key = sortKeyOf(build);
            // A source that ignored the cursor (an older forwarder) sends
            // builds from before it: never shown twice.
            if (query.matches(build) && (!query.cursor || isAfter(query, key, *query.cursor))) {
                all.emplace_back(std::move(key), &build);
            }
        }
    }
    std::sort(all.begin(), all.end(), [&query](const auto& a, const auto& b) {
        return query.newestFirst ? b.first < a.first : a.first < b.first;
    });
    auto limit = query.limit.value_or(kMaxPageSize);
    MergedPage page;
    if (all.size() > limit) {
        all.resize(limit);
        more = true;
    }
    for (auto& [key, build] : all) {
        page.builds.push_back(std::move(*build));
    }
    page.nextCursor =
        more && !all.empty() ? json(buildCursorText(all.back().first)) : json(nullptr);
    return page;
}

}  // namespace imagebuild::forwarder
