#include "agent/build_objects.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/build_id.hpp"
#include "common/dbus_names.hpp"

namespace imagebuild::agent {

BuildObjects::BuildObjects(sdbus::IConnection& connection, sd_bus* bus, BuildRegistry& registry,
                           BuildOwner& owner)
    : connection_(connection), registry_(registry), owner_(owner) {
    int r = sd_bus_add_fallback(bus, &fallback_, dbus_names::kBuildPathPrefix, &onMessage, this);
    if (r >= 0) {
        r = sd_bus_add_node_enumerator(bus, &enumerator_, dbus_names::kBuildPathPrefix,
                                       &onEnumerate, this);
    }
    if (r < 0) {
        sd_bus_slot_unref(fallback_);
        throw std::runtime_error(std::string("cannot serve the build objects: ") +
                                 std::strerror(-r));
    }
}

BuildObjects::~BuildObjects() {
    sd_bus_slot_unref(enumerator_);
    sd_bus_slot_unref(fallback_);
    objects_.clear();
}

BuildObject& BuildObjects::add(const BuildRecord& record, bool announce) {
    auto& object = objects_[record.id];
    object = std::make_unique<BuildObject>(connection_, record, owner_, announce);
    return *object;
}

void BuildObjects::ended(const std::string& id) {
    if (objects_.count(id) != 0) {
        makeRecent(id);
    }
}

void BuildObjects::removed(const std::string& id) {
    auto it = objects_.find(id);
    if (it != objects_.end()) {
        it->second->emitInterfacesRemovedSignal({org::imagebuild::Build1_adaptor::INTERFACE_NAME});
        objects_.erase(it);
    }
    recent_.erase(std::remove(recent_.begin(), recent_.end(), id), recent_.end());
}

BuildObject* BuildObjects::find(const std::string& id) {
    auto it = objects_.find(id);
    return it == objects_.end() ? nullptr : it->second.get();
}

// The oldest recent object goes once there are more than kRecent: its
// record is read again if its object is made again.
void BuildObjects::makeRecent(const std::string& id) {
    recent_.erase(std::remove(recent_.begin(), recent_.end(), id), recent_.end());
    recent_.push_back(id);
    while (recent_.size() > kRecent) {
        auto old = recent_.front();
        recent_.pop_front();
        objects_.erase(old);
        registry_.release(old);
    }
}

// A message to a build path without an object: make the object if the
// build exists, and return 0 so sd-bus goes on (and, as objects were
// registered, dispatches the message again, now to that object).
int BuildObjects::onMessage(sd_bus_message* message, void* self, sd_bus_error* /*error*/) {
    auto& objects = *static_cast<BuildObjects*>(self);
    const char* path = sd_bus_message_get_path(message);
    auto id = path ? buildIdFromObjectPath(path) : std::nullopt;
    if (!id || objects.objects_.count(*id) != 0) {
        return 0;
    }
    try {
        if (const auto* record = objects.registry_.find(*id)) {
            objects.add(*record, false);
            if (record->finished()) {
                objects.makeRecent(*id);
            }
        }
    } catch (const std::exception&) {
        // Not served: sd-bus answers that there is no such object.
    }
    return 0;
}

int BuildObjects::onEnumerate(sd_bus* /*bus*/, const char* /*prefix*/, void* self, char*** paths,
                              sd_bus_error* /*error*/) {
    const auto& summaries = static_cast<BuildObjects*>(self)->registry_.summaries();
    auto** out = static_cast<char**>(std::calloc(summaries.size() + 1, sizeof(char*)));
    if (out == nullptr) {
        return -ENOMEM;
    }
    std::size_t n = 0;
    try {
        for (std::size_t i = 0; i < summaries.size(); ++i) {
            out[n] = ::strdup(buildObjectPath(summaries[i].id).c_str());
            if (out[n] == nullptr) {
                throw std::bad_alloc();
            }
            ++n;
        }
    } catch (const std::exception&) {
        for (std::size_t i = 0; i < n; ++i) {
            std::free(out[i]);
        }
        std::free(out);
        return -ENOMEM;
    }
    *paths = out;
    return 0;
}

}  // namespace imagebuild::agent
