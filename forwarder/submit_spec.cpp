#include "forwarder/submit_spec.hpp"

#include "common/build_spec.hpp"

#include <fmt/format.h>

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

void refuseNulIn(const json& value, const std::string& where) {
    if (value.is_string()) {
        if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
            throw SpecError(where, fmt::format("{} holds a NUL character (\\u0000)", where));
        }
    } else if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
            refuseNulIn(value[i], fmt::format("{}[{}]", where, i));
        }
    } else if (value.is_object()) {
        for (const auto& [key, item] : value.items()) {
            if (key.find('\0') != std::string::npos) {
                throw SpecError(where, fmt::format("a key of {} holds a NUL character (\\u0000)",
                                                   where.empty() ? "the body" : where));
            }
            refuseNulIn(item, where.empty() ? fmt::format("'{}'", key)
                                            : fmt::format("{}['{}']", where, key));
        }
    }
}

}  // namespace

void refuseNul(const json& spec) {
    refuseNulIn(spec, "");
}

BuildSpec parseSubmitBody(const std::string& body) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded()) {
        throw SpecError("", "the body is not valid JSON");
    }
    if (!j.is_object()) {
        throw SpecError("", "the body must be a JSON object");
    }
    refuseNul(j);
    return specFromJson(j);
}

}  // namespace imagebuild::forwarder
