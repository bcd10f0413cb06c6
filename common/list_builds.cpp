#include "common/list_builds.hpp"

#include <fmt/format.h>
#include <sdbus-c++/Message.h>
#include <sdbus-c++/TypeTraits.h>

#include "common/build_id.hpp"
#include "common/dbus_names.hpp"

namespace imagebuild {

namespace {

void putCursor(std::map<std::string, sdbus::Variant>& out, const char* key,
               const BuildCursor& cursor) {
    if (const auto* id = std::get_if<std::string>(&cursor)) {
        out[key] = sdbus::Variant(*id);
    } else if (const auto* usec = std::get_if<std::uint64_t>(&cursor)) {
        out[key] = sdbus::Variant(*usec);
    }
}

template <typename T>
T valueOf(const std::string& key, const sdbus::Variant& v, const char* signature) {
    if (!v.containsValueOfType<T>()) {
        throw FilterError(fmt::format("filter key '{}' must be of type '{}'", key, signature));
    }
    return v.get<T>();
}

BuildCursor cursorOf(const std::string& key, const sdbus::Variant& v) {
    if (v.containsValueOfType<std::uint64_t>()) {
        return v.get<std::uint64_t>();
    }
    auto id = valueOf<std::string>(key, v, "s' (a build id) or 't' (usec since the epoch");
    if (!BuildId::parse(id)) {
        throw FilterError(
            fmt::format("filter key '{}': \"{}\" is not a build id", key, id.substr(0, 80)));
    }
    return id;
}

// The cursor with its id parsed once, for a walk over many rows.
struct ParsedCursor {
    bool set = false;
    bool byTime = false;
    std::uint64_t value = 0;
};

ParsedCursor parse(const BuildCursor& cursor) {
    if (const auto* id = std::get_if<std::string>(&cursor)) {
        auto parsed = BuildId::parse(*id);
        return {true, false, parsed ? parsed->number : 0};
    }
    if (const auto* usec = std::get_if<std::uint64_t>(&cursor)) {
        return {true, true, *usec};
    }
    return {};
}

// What the filter's keys look at in a row, borrowed.
struct RowKeys {
    std::string_view state, type, arch, release;
    std::uint32_t submitterUid = 0;
};

int compare(const ParsedCursor& c, std::uint64_t number, std::uint64_t submittedAt) {
    auto mine = c.byTime ? submittedAt : number;
    return mine < c.value ? -1 : mine > c.value ? 1 : 0;
}

}  // namespace

std::map<std::string, sdbus::Variant> toDbusFilter(const BuildListFilter& filter) {
    std::map<std::string, sdbus::Variant> out;
    if (!filter.states.empty()) {
        out["states"] = sdbus::Variant(filter.states);
    }
    if (!filter.type.empty()) {
        out["type"] = sdbus::Variant(filter.type);
    }
    if (!filter.arch.empty()) {
        out["arch"] = sdbus::Variant(filter.arch);
    }
    if (!filter.release.empty()) {
        out["release"] = sdbus::Variant(filter.release);
    }
    if (filter.submitterUid) {
        out["submitter_uid"] = sdbus::Variant(*filter.submitterUid);
    }
    if (filter.limit) {
        out["limit"] = sdbus::Variant(*filter.limit);
    }
    putCursor(out, "before", filter.before);
    putCursor(out, "after", filter.after);
    return out;
}

BuildListFilter filterFromDbus(const std::map<std::string, sdbus::Variant>& filter) {
    BuildListFilter f;
    for (const auto& [key, v] : filter) {
        if (key == "states") {
            f.states = valueOf<std::vector<std::string>>(key, v, "as");
        } else if (key == "type") {
            f.type = valueOf<std::string>(key, v, "s");
        } else if (key == "arch") {
            f.arch = valueOf<std::string>(key, v, "s");
        } else if (key == "release") {
            f.release = valueOf<std::string>(key, v, "s");
        } else if (key == "submitter_uid") {
            f.submitterUid = valueOf<std::uint32_t>(key, v, "u");
        } else if (key == "limit") {
            f.limit = valueOf<std::uint32_t>(key, v, "u");
        } else if (key == "before") {
            f.before = cursorOf(key, v);
        } else if (key == "after") {
            f.after = cursorOf(key, v);
        } else {
            throw FilterError(fmt::format(
                "unknown filter key '{}'; known: states, type, arch, release, submitter_uid, "
                "limit, before, after",
                key.substr(0, 80)));
        }
    }
    return f;
}

std::vector<std::size_t> selectPage(const BuildListFilter& filter, std::size_t count,
                                    const std::function<PageProbe(std::size_t)>& at,
                                    RowOrder order) {
    auto before = parse(filter.before);
    auto after = parse(filter.after);
    auto inRange = [&](const PageProbe& p) {
        return p.matches && (!before.set || compare(before, p.number, p.submittedAt) < 0) &&
               (!after.set || compare(after, p.number, p.submittedAt) > 0);
    };
    // The rows outside the cursors, cut off without a walk where the rows
    // are in the cursor's order: [lo, hi) holds every row in range.
    auto ordered = [&](const ParsedCursor& c) {
        return c.byTime ? order.byTime : order.byNumber;
    };
    auto firstNotBelow = [&](const ParsedCursor& c, bool orEqual) {
        std::size_t lo = 0, hi = count;
        while (lo < hi) {
            auto mid = lo + (hi - lo) / 2;
            auto p = at(mid);
            auto cmp = compare(c, p.number, p.submittedAt);
            if (cmp < 0 || (orEqual && cmp == 0)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    };
    std::size_t lo = after.set && ordered(after) ? firstNotBelow(after, true) : 0;
    std::size_t hi = before.set && ordered(before) ? firstNotBelow(before, false) : count;
    hi = std::max(lo, hi);
    std::vector<std::size_t> page;
    std::size_t limit = filter.limit ? *filter.limit : hi - lo;
    if (!filter.limit || (after.set && !before.set)) {
        // Forwards from the oldest: every row, or the page just after `after`.
        for (std::size_t i = lo; i < hi && page.size() < limit; ++i) {
            if (inRange(at(i))) {
                page.push_back(i);
            }
        }
        return page;
    }
    // Backwards from the newest: the newest `limit` rows, then put in order.
    for (std::size_t i = hi; i > lo && page.size() < limit; --i) {
        if (inRange(at(i - 1))) {
            page.push_back(i - 1);
        }
    }
    std::reverse(page.begin(), page.end());
    return page;
}

void pageOfRows(const BuildListFilter& filter, const std::vector<BuildListRow>& rows,
                const std::function<void(const BuildListRow&)>& each) {
    // The agent lists in id-number order; times are not known to ascend.
    auto page = selectPage(
        filter, rows.size(),
        [&](std::size_t i) {
            const auto& row = rows[i];
            auto id = BuildId::parse(row.get<0>());
            RowKeys keys{row.get<6>(), row.get<1>(), row.get<2>(), row.get<3>(), row.get<8>()};
            return PageProbe{id ? id->number : 0, row.get<9>(), matches(filter, keys)};
        },
        RowOrder{true, false});
    for (auto i : page) {
        each(rows[i]);
    }
}

void listBuildRows(sdbus::IProxy& manager, const BuildListFilter& filter,
                   const std::function<void(const BuildListRow&)>& each) {
    auto call = manager.createMethodCall(dbus_names::kManagerInterface, "ListBuilds");
    call << toDbusFilter(filter);
    auto reply = manager.callMethod(call);
    if (reply.enterContainer(sdbus::signature_of<BuildListRow>::str())) {
        BuildListRow row;
        while (reply >> row) {
            each(row);
        }
        reply.clearFlags();  // the end of the array set the failed flag
        reply.exitContainer();
    }
}

}  // namespace imagebuild
