// What a client asks for when it submits a build, validated. The same rules
// apply to the D-Bus a{sv} (agent) and to the JSON body of POST /v1/builds
// (forwarder), so both reject bad input with the same words.
//
//   type s, arch s, release s, kickstart s        required
//   name s, notify as, timeout_sec t, labels a{ss},  optional
//   webhook s (http://HOST[:PORT]/PATH, common/http_url.hpp)
//   submitter s (the name to record instead of the caller's; the agent asks
//                polkit for org.imagebuild.submit-for)
//   priority i (kMinPriority to kMaxPriority, 0 normal; higher starts first;
//               above normal the agent asks polkit for org.imagebuild.manage)
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace imagebuild {

// A spec field is wrong. field() is the key (empty for the spec as a whole);
// what() is a sentence naming the field and what would be accepted.
class SpecError : public std::runtime_error {
public:
    SpecError(std::string field, const std::string& message)
        : std::runtime_error(message), field_(std::move(field)) {}
    const std::string& field() const { return field_; }

private:
    std::string field_;
};

// The spec is well-formed but this host does not build it (the agent maps
// this to org.imagebuild.Error.Unsupported).
class UnsupportedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxKickstartBytes = 1024 * 1024;
inline constexpr std::uint64_t kMaxTimeoutSec = 7 * 24 * 3600;
inline constexpr std::size_t kMaxSubmitterChars = 64;
inline constexpr std::int32_t kMinPriority = -100;
inline constexpr std::int32_t kMaxPriority = 100;

struct BuildSpec {
    std::string type;
    std::string arch;
    std::string release;
    std::string kickstart;  // flattened text, UTF-8, at most kMaxKickstartBytes
    std::string name;       // may be empty
    std::vector<std::string> notify;
    std::uint64_t timeoutSec = 0;  // 0: the host's default
    std::map<std::string, std::string> labels;
    std::string webhook;  // http:// URL POSTed the build's JSON at each state; empty: none
    // Recorded as Build1.Submitter; absent: the caller's user name.
    std::optional<std::string> submitter;
    // Queue order: higher first, equal first-in first-out; 0 is normal.
    std::int32_t priority = 0;
};

// What a host builds, to check a spec against.
struct HostCapabilities {
    std::vector<std::string> types;
    std::vector<std::string> arches;
    std::vector<std::string> releases;  // empty: any release
};

// Throw SpecError for the first bad field (unknown keys included).
BuildSpec specFromVariants(const std::map<std::string, sdbus::Variant>& spec);
BuildSpec specFromJson(const nlohmann::json& spec);
// Throws UnsupportedError naming the field and what the host offers.
void checkSupported(const BuildSpec& spec, const HostCapabilities& host);

bool isValidUtf8(std::string_view text);

// Why `name` cannot be a build's submitter (1 to kMaxSubmitterChars
// characters of UTF-8, no control characters), as a phrase such as "is
// empty"; empty when it can. The forwarder checks its token names with it.
std::string submitterNameProblem(std::string_view name);

}  // namespace imagebuild
