// The INI files of imagebuild (imagebuild.conf, read by the agent and the
// forwarder alike): parsed by inih, with the line of every value kept so
// that each check afterwards can say `file:line: what is wrong`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace imagebuild {

struct IniValue {
    std::string value;
    int line = 0;
};

struct IniFile {
    std::map<std::string, std::map<std::string, IniValue>> sections;
    std::map<std::string, int> sectionLines;  // line of each [section] header
    std::vector<std::string> sectionOrder;
    int lineCount = 0;
};

// Throws ConfigError ("file:line: ...") for a line that is not a [section]
// or key = value, a line too long for inih, and a key set twice. A key in
// `listKeys` may continue on indented lines: the pieces are joined by a
// space. Other keys may be set once.
IniFile parseIniFile(std::string_view text, const std::string& fileName,
                     const std::set<std::string>& listKeys);

}  // namespace imagebuild
