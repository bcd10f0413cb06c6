// Problems of imagebuild.conf found in one pass, reported at once.
#pragma once

#include <map>
#include <string>

#include "common/config_file.hpp"

namespace imagebuild {

// problems: "<file>:<line>: <what is wrong>" by line. Thrown as one
// ConfigError, a line each in the order of the file, so that fixing one does
// not merely reveal the next. Nothing if empty.
inline void throwIfAny(const std::map<int, std::string>& problems) {
    std::string all;
    for (const auto& [line, problem] : problems) {
        all += (all.empty() ? "" : "\n") + problem;
    }
    if (!all.empty()) {
        throw ConfigError(all);
    }
}

}  // namespace imagebuild
