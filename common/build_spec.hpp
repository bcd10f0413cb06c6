// What a client asks for when it submits a build, validated, and the one
// codec of it. Every entry point converts to and from a BuildSpec through one
// table of keys (keyTable() in build_spec.cpp): the D-Bus a{sv} of Submit
// (agent, imagebuildctl), the JSON body of POST /v1/builds (forwarder,
// imagebuildctl -H), the fields of the multipart form (forwarder) and the
// spec part of record.json (agent). Each row names the key, its C++ member,
// whether it is required, its form field and its validation; its D-Bus and
// JSON types follow from the member's type. So every path rejects bad input
// with the same words.
//
// Adding a key: a member of BuildSpec and a row of keyTable(); then its line
// in the Submit docs (the XML and docs/org.imagebuild.BuildManager1.md) and
// in POST /v1/builds (docs/imagebuild-forwarder.md), and a sample value in
// tests/unit/common/test_build_spec.cpp (the tests fail until all three are there).
//   priority i (kMinPriority to kMaxPriority, 0 normal; higher starts first;
//               above normal the agent asks polkit for org.imagebuild.manage)
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
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
inline constexpr std::size_t kMaxRepos = 16;
inline constexpr std::size_t kMaxSideRpms = 64;
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
    // Remote repositories added to the kickstart: name -> base URL.
    std::map<std::string, std::string> repos;
    // The release's updates / updates-testing repositories ([release.*] of
    // imagebuild.conf) added to the kickstart.
    bool updates = false;
    bool updatesTesting = false;
    // RPMs of the side repository (D-Bus fds; over HTTP the forwarder makes
    // them from the files of a form): the client's file name (for
    // messages) -> an fd to read the file from. Never recorded: the agent
    // copies the files into the build's repository and records what they are.
    std::map<std::string, sdbus::UnixFd> rpms;
    // Queue order: higher first, equal first-in first-out; 0 is normal.
    std::int32_t priority = 0;
};

// What a host builds, to check a spec against.
struct HostCapabilities {
    std::vector<std::string> types;
    std::vector<std::string> arches;
    std::vector<std::string> releases;  // empty: any release
};

// One key of the spec, as the table has it.
struct SpecKey {
    std::string name;
    std::string dbusType;  // its signature in Submit's a{sv}: "s", "as", "t", "a{ss}"
    std::string jsonType;  // what a JSON body holds for it: "a string", ...
    bool required = false;
    std::string formField;  // its multipart form field; empty: none
    bool inBody = true;     // a POST /v1/builds body may set it
};
const std::vector<SpecKey>& specKeys();

// Throw SpecError for the first bad field (unknown keys included).
BuildSpec specFromVariants(const std::map<std::string, sdbus::Variant>& spec);
// Optional keys at their default (empty, 0, absent) are left out.
std::map<std::string, sdbus::Variant> specToVariants(const BuildSpec& spec);

// The body of POST /v1/builds: the same keys and rules, in the words of
// the HTTP API ("'kickstart' is required"); a body may not set "submitter"
// (the forwarder records its token's name).
BuildSpec specFromJson(const nlohmann::json& spec);
enum class SpecJson { kSetKeys, kEveryKey };
// kSetKeys leaves optional keys at their default out (a request body);
// kEveryKey writes them all but an absent submitter (record.json).
nlohmann::json specToJson(const BuildSpec& spec, SpecJson keys = SpecJson::kSetKeys);
// record.json: the spec keys present in j (other keys are ignored, absent
// ones keep their defaults), not validated: a record is the truth of what
// was accepted. Throws SpecError for a key of the wrong type.
void readSpecKeys(const nlohmann::json& j, BuildSpec& spec);

// The multipart form of POST /v1/builds: one field into spec. Returns false
// for a name that is no spec key's form field; throws SpecError (in the
// form's words: "'arch' is given twice", "label 'x' must be KEY=VALUE").
// `given` holds the fields taken so far.
bool specFieldFromForm(const std::string& field, const std::string& text, BuildSpec& spec,
                       std::set<std::string>& given);
// The form fields of the table, for messages: "type, arch, ..., label, webhook".
std::string specFormFields();
// The first required key with a form field that spec lacks ("'arch' is required").
void checkFormRequired(const BuildSpec& spec);
// Throws SpecError for the first field spec breaks the rules of (a spec
// filled field by field).
void validateSpec(const BuildSpec& spec);

// Throws UnsupportedError naming the field and what the host offers.
void checkSupported(const BuildSpec& spec, const HostCapabilities& host);

bool isValidUtf8(std::string_view text);

// Why `name` cannot be a build's submitter (1 to kMaxSubmitterChars
// characters of UTF-8, no control characters), as a phrase such as "is
// empty"; empty when it can. The forwarder checks its token names with it.
std::string submitterNameProblem(std::string_view name);

}  // namespace imagebuild
