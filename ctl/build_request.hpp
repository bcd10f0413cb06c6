// What `imagebuildctl build` submits: the spec of BuildManager1.Submit, as a
// struct that both transports serialize (a{sv} for D-Bus, JSON for HTTP).
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace imagebuild::ctl {

struct BuildRequest {
    std::string type;
    std::string arch;
    std::string release;
    std::string kickstart;  // the flattened kickstart text
    std::string name;
    std::vector<std::string> notify;
    std::optional<std::uint64_t> timeoutSec;
    std::map<std::string, std::string> labels;
    std::optional<std::int32_t> priority;
};

// The Submit spec; optional keys are left out when unset.
std::map<std::string, sdbus::Variant> toDbusSpec(const BuildRequest& request);
// The POST /v1/builds body: the same keys.
nlohmann::json toJsonSpec(const BuildRequest& request);

// "K=V" arguments of --label; throws CtlError (usage) naming the bad one.
std::map<std::string, std::string> parseLabels(const std::vector<std::string>& labels);

}  // namespace imagebuild::ctl
