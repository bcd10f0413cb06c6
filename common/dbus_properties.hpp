// Reading the a{sv} of org.freedesktop.DBus.Properties.GetAll into a struct:
// a property that is missing or of another type leaves the field as it was,
// so a newer agent never breaks an older client.
#pragma once

#include <sdbus-c++/Types.h>

#include <map>
#include <string>

namespace imagebuild {

template <typename T>
void takeProperty(const std::map<std::string, sdbus::Variant>& properties, const char* key,
                  T& out) {
    auto it = properties.find(key);
    if (it != properties.end() && it->second.containsValueOfType<T>()) {
        out = it->second.get<T>();
    }
}

}  // namespace imagebuild
