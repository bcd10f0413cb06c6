#include "forwarder/submit_spec.hpp"

#include "common/build_spec.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

std::string requireString(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) {
        throw SpecError(fmt::format("'{}' is required", key));
    }
    if (!it->is_string() || it->get<std::string>().empty()) {
        throw SpecError(fmt::format("'{}' must be a non-empty string", key));
    }
    return it->get<std::string>();
}

sdbus::Variant convert(const std::string& key, const json& value) {
    if (key == "name" || key == "kickstart" || key == "type" || key == "arch" || key == "release" ||
        key == "webhook") {
        if (!value.is_string()) {
            throw SpecError(fmt::format("'{}' must be a string", key));
        }
        return sdbus::Variant(value.get<std::string>());
    }
    if (key == "notify") {
        if (!value.is_array()) {
            throw SpecError("'notify' must be an array of strings");
        }
        std::vector<std::string> out;
        for (const auto& item : value) {
            if (!item.is_string()) {
                throw SpecError("'notify' must be an array of strings");
            }
            out.push_back(item.get<std::string>());
        }
        return sdbus::Variant(out);
    }
    if (key == "timeout_sec") {
        if (!value.is_number_unsigned()) {
            throw SpecError("'timeout_sec' must be a non-negative integer");
        }
        return sdbus::Variant(value.get<std::uint64_t>());
    }
    if (key == "priority") {
        using Limits = std::numeric_limits<std::int32_t>;
        bool fits = value.is_number_unsigned()
                        ? value.get<std::uint64_t>() <= std::uint64_t{Limits::max()}
                        : value.is_number_integer() && value.get<std::int64_t>() >= Limits::min() &&
                              value.get<std::int64_t>() <= Limits::max();
        if (!fits) {
            throw SpecError(fmt::format("'priority' must be an integer from {} to {}", kMinPriority,
                                        kMaxPriority));
        }
        return sdbus::Variant(value.get<std::int32_t>());
    }
    if (key == "labels") {
        if (!value.is_object()) {
            throw SpecError("'labels' must be an object of strings");
        }
        std::map<std::string, std::string> out;
        for (const auto& [k, v] : value.items()) {
            if (!v.is_string()) {
                throw SpecError(fmt::format("label '{}' must be a string", k));
            }
            out[k] = v.get<std::string>();
        }
        return sdbus::Variant(out);
    }
    if (key == "submitter") {
        throw SpecError("'submitter' cannot be given: it is the name of the bearer token");
    }
    throw SpecError(
        fmt::format("unknown key '{}' (allowed: type, arch, release, kickstart, name, notify, "
                    "timeout_sec, labels, webhook, priority)",
                    key));
}

// D-Bus strings end at a NUL: "\u0000" in any string would silently cut
// the kickstart, a name or a label short on its way to the agent.
void refuseNul(const json& value, const std::string& where) {
    if (value.is_string()) {
        if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
            throw SpecError(fmt::format("{} holds a NUL character (\\u0000)", where));
        }
    } else if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
            refuseNul(value[i], fmt::format("{}[{}]", where, i));
        }
    } else if (value.is_object()) {
        for (const auto& [key, item] : value.items()) {
            if (key.find('\0') != std::string::npos) {
                throw SpecError(fmt::format("a key of {} holds a NUL character (\\u0000)",
                                            where.empty() ? "the body" : where));
            }
            refuseNul(item, where.empty() ? fmt::format("'{}'", key)
                                          : fmt::format("{}['{}']", where, key));
        }
    }
}

}  // namespace

SubmitSpec parseSubmitSpec(const std::string& body) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded()) {
        throw SpecError("the body is not valid JSON");
    }
    if (!j.is_object()) {
        throw SpecError("the body must be a JSON object");
    }
    refuseNul(j, "");
    SubmitSpec spec;
    spec.type = requireString(j, "type");
    spec.arch = requireString(j, "arch");
    spec.release = requireString(j, "release");
    requireString(j, "kickstart");
    for (const auto& [key, value] : j.items()) {
        spec.dbus[key] = convert(key, value);
    }
    if (auto it = spec.dbus.find("priority"); it != spec.dbus.end()) {
        spec.priority = it->second.get<std::int32_t>();
    }
    return spec;
}

void setSubmitter(SubmitSpec& spec, const std::string& name) {
    if (!name.empty()) {
        spec.dbus["submitter"] = sdbus::Variant(name);
    }
}

}  // namespace imagebuild::forwarder
