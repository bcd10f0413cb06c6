// A light lint over a flattened kickstart. Findings point at the original
// files (through FlattenResult::origins), not at the flattened text.
#pragma once

#include <string>
#include <vector>

#include "common/kickstart_flatten.hpp"

namespace imagebuild::kickstart {

struct Warning {
    std::string file;
    std::size_t line = 0;  // 0: about the kickstart as a whole
    std::string message;

    // "file:line: message", or "file: message" without a line.
    std::string str() const;
};

// Unknown section names, sections without %end, %end outside a section,
// single-use commands given twice, no %packages section.
std::vector<Warning> lint(const FlattenResult& flat);

}  // namespace imagebuild::kickstart
