#include "ctl/build_request.hpp"

#include <fmt/format.h>

#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

std::map<std::string, sdbus::Variant> toDbusSpec(const BuildRequest& request) {
    std::map<std::string, sdbus::Variant> spec{
        {"type", sdbus::Variant(request.type)},
        {"arch", sdbus::Variant(request.arch)},
        {"release", sdbus::Variant(request.release)},
        {"kickstart", sdbus::Variant(request.kickstart)},
    };
    if (!request.name.empty()) {
        spec["name"] = sdbus::Variant(request.name);
    }
    if (!request.notify.empty()) {
        spec["notify"] = sdbus::Variant(request.notify);
    }
    if (request.timeoutSec) {
        spec["timeout_sec"] = sdbus::Variant(*request.timeoutSec);
    }
    if (!request.labels.empty()) {
        spec["labels"] = sdbus::Variant(request.labels);
    }
    if (request.priority) {
        spec["priority"] = sdbus::Variant(*request.priority);
    }
    return spec;
}

nlohmann::json toJsonSpec(const BuildRequest& request) {
    nlohmann::json spec{{"type", request.type},
                        {"arch", request.arch},
                        {"release", request.release},
                        {"kickstart", request.kickstart}};
    if (!request.name.empty()) {
        spec["name"] = request.name;
    }
    if (!request.notify.empty()) {
        spec["notify"] = request.notify;
    }
    if (request.timeoutSec) {
        spec["timeout_sec"] = *request.timeoutSec;
    }
    if (!request.labels.empty()) {
        spec["labels"] = request.labels;
    }
    if (request.priority) {
        spec["priority"] = *request.priority;
    }
    return spec;
}

std::map<std::string, std::string> parseLabels(const std::vector<std::string>& labels) {
    std::map<std::string, std::string> result;
    for (const auto& label : labels) {
        auto eq = label.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw CtlError(
                kExitUsage,
                fmt::format("--label '{}': expected KEY=VALUE, e.g. --label team=qa", label));
        }
        result[label.substr(0, eq)] = label.substr(eq + 1);
    }
    return result;
}

}  // namespace imagebuild::ctl
