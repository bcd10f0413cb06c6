// Server-side filtering and paging of GET /v1/builds, so that a dashboard of a
// fleet with 10,000 builds fetches one page of the builds it shows:
//   state=S[,S...]  host=H  arch=A  release=R  type=T   (exact matches)
//   order=oldest|newest (default oldest)  limit=1..1000  cursor=C  offset=0..
// Without limit every matching build is returned (the API before paging).
// limit alone (and cursor) pages by cursor (build_cursor.hpp); limit with
// offset cuts the page out of every host's whole list, and counts them.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/build_info.hpp"
#include "common/list_builds.hpp"
#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

// A bad parameter: the message names it and says what is allowed.
class QueryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where builds sort in a list: submission order, then the owner and its
// counter (a stable order for paging even when many share a timestamp).
struct BuildSortKey {
    std::uint64_t submittedAt = 0;
    std::string host;
    std::uint64_t number = 0;

    auto operator<=>(const BuildSortKey&) const = default;
};

// A build's key, from its JSON ("submitted_at", "id").
BuildSortKey sortKeyOf(const nlohmann::json& build);

struct BuildQuery {
    // The filters the agent's ListBuilds applies itself (so builds that
    // cannot match never cross the bus); host is the forwarder's to apply.
    BuildListFilter filter;
    std::string host;
    bool newestFirst = false;
    std::optional<std::size_t> limit;
    std::size_t offset = 0;
    // Cursor paging (build_cursor.hpp): a limit without an offset. Each
    // host lists one page, and the answer has "next_cursor", not "total".
    bool paged = false;
    std::optional<BuildSortKey> cursor;  // the page after this build

    bool matches(const nlohmann::json& build) const;
    bool matches(const BuildInfo& build) const;
};

inline constexpr std::size_t kMaxPageSize = 1000;

// Throws QueryError.
BuildQuery parseBuildQuery(const Request& request);

// The query a peer is asked with: the filters and, for a page, only the
// builds that can be on it (its first offset + limit in the same order: the
// page is cut from the merged lists). A page too deep for that asks for all.
void peerQueryFor(const BuildQuery& query, std::map<std::string, std::string>& peerQuery);

// This host's part of the answer, built one build at a time as the agent
// lists them: of the builds that match, only the first offset + limit in
// the query's order are kept (no others can be on the page), so a page of
// 50 out of 10,000 holds and converts to JSON 50.
class LocalPage {
public:
    explicit LocalPage(const BuildQuery& query);

    void add(BuildInfo&& build);  // dropped unless it matches and may be on the page
    // The kept builds as JSON, in the query's order; `notSent` grows by the
    // matching builds left out.
    nlohmann::json take(std::size_t& notSent);

private:
    bool before(const BuildSortKey& a, const BuildSortKey& b) const;

    const BuildQuery& query_;
    std::optional<std::size_t> keep_;
    std::size_t matched_ = 0;
    std::vector<BuildInfo> builds_;  // kept, in no order
    // Their keys and slots in builds_; once keep_ is set, a heap whose front
    // is the last in the query's order (only keys move in it, not builds).
    std::vector<std::pair<BuildSortKey, std::size_t>> order_;
};

// Sorts `builds` (oldest or newest first; ties by host, then build number),
// drops those that do not match, and cuts the page. Fills `total` (matching
// builds) and returns the page.
nlohmann::json selectBuilds(nlohmann::json builds, const BuildQuery& query, std::size_t& total);

// {"builds", "unreachable", "total"} plus "offset", "limit" and "next" (the
// offset of the next page, null on the last) when the query has a limit.
// `notFetched`: matching builds that peers counted but did not send.
nlohmann::json buildListBody(nlohmann::json builds, nlohmann::json unreachable,
                             const BuildQuery& query, std::size_t notFetched = 0);

}  // namespace imagebuild::forwarder
