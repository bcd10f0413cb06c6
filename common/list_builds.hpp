// BuildManager1.ListBuilds read one row at a time: what `reply >>
// std::vector<BuildListRow>` (the generated ListBuilds()) does, into one
// reused row, so a client listing 10,000 builds never holds them all (the
// memory is most of what holding them would cost). imagebuildctl and the
// forwarder both list this way.
#pragma once

#include <sdbus-c++/IProxy.h>
#include <sdbus-c++/Types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/build_info.hpp"

namespace imagebuild {

// ListBuilds' filter keys (all optional, ANDed): the agent leaves out the
// rows that do not match, so they never cross the bus.
struct BuildListFilter {
    std::vector<std::string> states;  // empty: any
    std::string type;                 // empty: any (and so on)
    std::string arch;
    std::string release;

    bool empty() const { return states.empty() && type.empty() && arch.empty() && release.empty(); }
};

// Whether `build` is one the agent would list with `filter`.
bool matches(const BuildListFilter& filter, const BuildInfo& build);

// The a{sv} ListBuilds takes; unset fields are left out.
std::map<std::string, sdbus::Variant> toDbusFilter(const BuildListFilter& filter);

// Calls ListBuilds on `manager` (a proxy of /org/imagebuild/Agent1) and
// hands each row to `each` as it is decoded, in the agent's order. The row
// is reused: copy what you keep. Throws sdbus::Error.
void listBuildRows(sdbus::IProxy& manager, const BuildListFilter& filter,
                   const std::function<void(const BuildListRow&)>& each);

}  // namespace imagebuild
