// The Build1 objects under /org/imagebuild/Agent1/build, at a cost that
// does not grow with history: an sdbus-c++ object (BuildObject) exists for
// every build not over and for the most recent others (kRecent), and any
// other build's object is made when a message reaches its path. sdbus-c++
// 1.2 has no fallback objects, so this registers two sd-bus hooks on the
// prefix itself:
//   - a fallback message callback (sd_bus_add_fallback), which sd-bus runs
//     for a path without an object; it makes that build's object, and
//     sd-bus dispatches the message again to it (sd-bus re-runs a dispatch
//     whenever a callback registers objects);
//   - a node enumerator (sd_bus_add_node_enumerator), so introspection and
//     `busctl tree` list every build.
// The sd_bus* is the connection's own, found through a reply
// (common/sd_bus_of.hpp).
// docs/design.md, "History".
#pragma once

#include <systemd/sd-bus.h>

#include <deque>
#include <map>
#include <memory>
#include <string>

#include "agent/build_object.hpp"
#include "agent/build_registry.hpp"

namespace imagebuild::agent {

class BuildObjects {
public:
    // Objects of finished builds kept at most; older ones are dropped (and
    // made again if asked for).
    static constexpr std::size_t kRecent = 64;

    // bus: the sd_bus of `connection` (common/sd_bus_of.hpp).
    BuildObjects(sdbus::IConnection& connection, sd_bus* bus, BuildRegistry& registry,
                 BuildOwner& owner);
    ~BuildObjects();
    BuildObjects(const BuildObjects&) = delete;
    BuildObjects& operator=(const BuildObjects&) = delete;

    // A build not over: its object lives until it ends (and then as recent).
    // announce: emit InterfacesAdded (a new build, not one read from disk).
    BuildObject& add(const BuildRecord& record, bool announce);
    // The build ended: its object is now one of the recent ones.
    void ended(const std::string& id);
    // The build is gone: InterfacesRemoved, and no object any more.
    void removed(const std::string& id);
    BuildObject* find(const std::string& id);
    std::size_t size() const { return objects_.size(); }

private:
    static int onMessage(sd_bus_message* message, void* self, sd_bus_error* error);
    static int onEnumerate(sd_bus* bus, const char* prefix, void* self, char*** paths,
                           sd_bus_error* error);
    void makeRecent(const std::string& id);

    sdbus::IConnection& connection_;
    BuildRegistry& registry_;
    BuildOwner& owner_;
    std::map<std::string, std::unique_ptr<BuildObject>> objects_;
    std::deque<std::string> recent_;  // finished builds with an object, oldest first
    sd_bus_slot* fallback_ = nullptr;
    sd_bus_slot* enumerator_ = nullptr;
};

}  // namespace imagebuild::agent
