#include "common/kickstart_sections.hpp"

namespace imagebuild::kickstart {

std::set<std::string, std::less<>> knownSections() {
    return {"%pre",      "%pre-install", "%post",     "%onerror",    "%traceback",
            "%packages", "%addon",       "%anaconda", "%certificate"};
}

bool isAllLinesSection(std::string_view name) {
    return name == "%pre" || name == "%pre-install" || name == "%post" || name == "%onerror" ||
           name == "%traceback" || name == "%certificate";
}

}  // namespace imagebuild::kickstart
