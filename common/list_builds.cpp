#include "common/list_builds.hpp"

#include <sdbus-c++/Message.h>
#include <sdbus-c++/TypeTraits.h>

#include <algorithm>

#include "common/dbus_names.hpp"

namespace imagebuild {

namespace {

bool wanted(const std::string& wanted, const std::string& value) {
    return wanted.empty() || value == wanted;
}

}  // namespace

bool matches(const BuildListFilter& filter, const BuildInfo& build) {
    const auto& states = filter.states;
    return (states.empty() ||
            std::find(states.begin(), states.end(), build.state) != states.end()) &&
           wanted(filter.type, build.type) && wanted(filter.arch, build.arch) &&
           wanted(filter.release, build.release);
}

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
    return out;
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
