// Build ids are "<host>-<n>": unique in the fleet, readable, and they tell
// any forwarder which host owns the build.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace imagebuild {

struct BuildId {
    std::string host;
    std::uint64_t number = 0;

    std::string str() const;
    // Parses "<host>-<n>"; nullopt for anything else, including path-like
    // input such as "../x", so an id can be used as a file name safely.
    static std::optional<BuildId> parse(std::string_view text);
};

// A host name usable in a build id: a DNS label sequence (letters, digits,
// '-', '.'), 1..64 characters, not starting or ending with '-' or '.'.
bool isValidHostName(std::string_view host);

// This machine's host name (gethostname), the <host> of the ids it hands out.
std::string localHostName();

// The D-Bus object path of a build, escaped as sd_bus_path_encode() does.
std::string buildObjectPath(std::string_view id);
// The id back from an object path; nullopt if the path is not a build's.
std::optional<std::string> buildIdFromObjectPath(std::string_view path);

}  // namespace imagebuild
