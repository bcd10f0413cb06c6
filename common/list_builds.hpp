// BuildManager1.ListBuilds: its filter (one matcher, used by the agent that
// answers and by the clients that filter what they already hold) and a
// reader of its reply one row at a time: what `reply >>
// std::vector<BuildListRow>` (the generated ListBuilds()) does, into one
// reused row, so a client listing 10,000 builds never holds them all (the
// memory is most of what holding them would cost). imagebuildctl and the
// forwarder both list this way.
#pragma once

#include <sdbus-c++/IProxy.h>
#include <sdbus-c++/Types.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/build_info.hpp"

namespace imagebuild {

// A page boundary: a build id of the host asked (compared by its number,
// the order of submission) or a submission time in usec since the epoch
// (what works across hosts, for the forwarder).
using BuildCursor = std::variant<std::monostate, std::string, std::uint64_t>;

// ListBuilds' filter keys (all optional, ANDed): the agent leaves out the
// rows that do not match, so they never cross the bus. Paging: without
// `limit` every matching row comes back; with it, at most `limit` rows:
// the newest ones older than `before` (or the newest of all), or, with
// `after` and no `before`, the oldest ones newer than `after`. A page is in
// submission order (oldest first) like a whole list; the next older page is
// the one before its first row.
struct BuildListFilter {
    std::vector<std::string> states;  // empty: any
    std::string type;                 // empty: any (and so on)
    std::string arch;
    std::string release;
    std::optional<std::uint32_t> submitterUid;
    std::optional<std::uint32_t> limit;
    BuildCursor before;
    BuildCursor after;

    bool empty() const {
        return states.empty() && type.empty() && arch.empty() && release.empty() && !submitterUid &&
               !limit && before.index() == 0 && after.index() == 0;
    }
};

// A filter the agent cannot use: an unknown key, a value of the wrong type,
// a cursor that is not a build id. The agent answers InvalidArgs with it.
class FilterError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// The a{sv} ListBuilds takes; unset fields are left out.
std::map<std::string, sdbus::Variant> toDbusFilter(const BuildListFilter& filter);
// The agent's reading of it. Throws FilterError.
BuildListFilter filterFromDbus(const std::map<std::string, sdbus::Variant>& filter);

// Whether `build` (a BuildInfo, or anything with the same members: the
// agent's index rows) passes the filter's keys; paging is not a match.
template <typename Build>
bool matches(const BuildListFilter& filter, const Build& build) {
    const auto wanted = [](const std::string& want, std::string_view value) {
        return want.empty() || value == want;
    };
    const auto& states = filter.states;
    return (states.empty() ||
            std::find(states.begin(), states.end(), build.state) != states.end()) &&
           wanted(filter.type, build.type) && wanted(filter.arch, build.arch) &&
           wanted(filter.release, build.release) &&
           (!filter.submitterUid || *filter.submitterUid == build.submitterUid);
}

// The page the filter asks of `count` builds in submission order (oldest
// first): at(i) gives build i's id number, submission time and whether it
// matches the filter's keys. Returns the indices of the page, oldest first.
// Walks from the end the page is at and stops once the page is full, so a
// small page of a long history costs what the page costs. Where the rows
// are known to be in the order of a cursor (`order`), the walk starts at
// the cursor, found by bisection, instead of walking to it.
struct PageProbe {
    std::uint64_t number = 0;
    std::uint64_t submittedAt = 0;
    bool matches = false;
};
struct RowOrder {
    bool byNumber = false;  // id numbers ascend
    bool byTime = false;    // submission times never go down
};
std::vector<std::size_t> selectPage(const BuildListFilter& filter, std::size_t count,
                                    const std::function<PageProbe(std::size_t)>& at,
                                    RowOrder order = {});

// The page `filter` asks of rows a client already holds, in submission
// order (a whole list kept from an earlier call): each row that matches
// the keys and is on the page, in order. The same answer as the agent's.
void pageOfRows(const BuildListFilter& filter, const std::vector<BuildListRow>& rows,
                const std::function<void(const BuildListRow&)>& each);

// Calls ListBuilds on `manager` (a proxy of /org/imagebuild/Agent1) and
// hands each row to `each` as it is decoded, in the agent's order. The row
// is reused: copy what you keep. Throws sdbus::Error.
void listBuildRows(sdbus::IProxy& manager, const BuildListFilter& filter,
                   const std::function<void(const BuildListRow&)>& each);

}  // namespace imagebuild
