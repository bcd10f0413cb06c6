// What the agent and the forwarder share about imagebuild.conf: both read
// the same file (each its own sections) by the same rules.
#pragma once

#include <set>
#include <stdexcept>
#include <string>

namespace imagebuild {

// Messages read "<file>:<line>: <what is wrong>".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Keys of imagebuild.conf whose value may continue on indented lines (the
// pieces are joined by a space); any other key is set once. The agent and
// the forwarder read the same file by the same rules.
inline const std::set<std::string> kConfigListKeys = {
    "arches", "releases", "command", "tools", "artifacts", "description", "peers"};

}  // namespace imagebuild
