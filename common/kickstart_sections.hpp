// The %sections pykickstart registers (KickstartParser.setupSections and
// sections.py), shared by the flattener and the lint.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace imagebuild::kickstart {

// %pre, %pre-install, %post, %onerror, %traceback, %packages, %addon,
// %anaconda, %certificate.
std::set<std::string, std::less<>> knownSections();
// Sections whose body is kept line for line (allLines = True): the scripts
// and %certificate. Blank lines and comments in them are content.
bool isAllLinesSection(std::string_view name);

}  // namespace imagebuild::kickstart
