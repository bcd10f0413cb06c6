// Cursor paging of GET /v1/builds across the fleet. A page is `limit`
// builds in the fleet's order (submission time, then host, then build
// number: BuildSortKey); the cursor names the last build of a page, and the
// next page is the builds after it in the query's order. Each host asks its
// agent for one page at most (ListBuilds' limit and before/after), never its
// whole list, and the pages of all hosts are merged here by that key.
//
// The cursor's text, as given in "next_cursor": "<submitted_at usec>.<id>",
// e.g. "1733230000000000.a-17". Clients pass it back as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/build_info.hpp"
#include "common/list_builds.hpp"
#include "forwarder/build_query.hpp"

namespace imagebuild::forwarder {

// Throws QueryError when `text` is not a cursor this forwarder made.
BuildSortKey parseBuildCursor(const std::string& text);
std::string buildCursorText(const BuildSortKey& key);

// The ListBuilds filter that gives host `host`'s part of the page: the
// query's filters, its limit, and its cursor as the agent understands it
// (a build id for the host's own builds, else a submission time, moved by
// one microsecond where the host's name decides a tie with the cursor).
BuildListFilter agentFilterForPage(const BuildQuery& query, const std::string& host);

// One source's page (this host's agent, or a peer's scope=local answer):
// its builds in any order, and whether it may have more after them.
struct SourcePage {
    nlohmann::json builds = nlohmann::json::array();
    bool more = false;
};

// The page of the merged sources: the first `limit` builds after the
// query's cursor in the query's order, and the cursor of the next page
// (null when no source has more).
struct MergedPage {
    nlohmann::json builds = nlohmann::json::array();
    nlohmann::json nextCursor;  // string or null
};
MergedPage mergePages(std::vector<SourcePage> sources, const BuildQuery& query);

}  // namespace imagebuild::forwarder
