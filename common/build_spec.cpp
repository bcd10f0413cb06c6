#include "common/build_spec.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "common/http_url.hpp"
#include "common/side_repos.hpp"

namespace imagebuild {

namespace {

const std::vector<std::string> kKeys = {
    "type",   "arch",    "release",   "kickstart", "name",    "notify",          "timeout_sec",
    "labels", "webhook", "submitter", "repos",     "updates", "updates_testing", "rpms"};
const std::vector<std::string> kRequired = {"type", "arch", "release", "kickstart"};

constexpr std::size_t kMaxNotify = 16;
constexpr std::size_t kMaxLabels = 32;

bool isWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// A short token used in unit names, file names and journal fields.
void checkWord(const std::string& field, const std::string& value, std::size_t max) {
    if (value.empty() || value.size() > max ||
        !std::all_of(value.begin(), value.end(), isWordChar) || value.front() == '.' ||
        value.front() == '-') {
        throw SpecError(field, fmt::format("spec field '{}' must be 1 to {} characters of "
                                           "letters, digits, '.', '_' and '-' (not starting "
                                           "with '.' or '-'), not \"{}\"",
                                           field, max, value.substr(0, 80)));
    }
}

void checkKickstart(const std::string& ks) {
    if (ks.empty()) {
        throw SpecError("kickstart",
                        "spec field 'kickstart' is empty; it must hold the "
                        "flattened kickstart text");
    }
    if (ks.size() > kMaxKickstartBytes) {
        throw SpecError("kickstart", fmt::format("spec field 'kickstart' is {} bytes; at most "
                                                 "{} bytes are accepted",
                                                 ks.size(), kMaxKickstartBytes));
    }
    if (!isValidUtf8(ks) || ks.find('\0') != std::string::npos) {
        throw SpecError("kickstart", "spec field 'kickstart' is not valid UTF-8 text");
    }
}

void checkEmail(const std::string& address) {
    auto at = address.find('@');
    bool ok = address.size() <= 254 && at != std::string::npos && at > 0 &&
              at + 1 < address.size() && address.find('@', at + 1) == std::string::npos &&
              std::none_of(address.begin(), address.end(), [](char c) {
                  return std::isspace(static_cast<unsigned char>(c)) ||
                         std::iscntrl(static_cast<unsigned char>(c)) || c == ',' || c == '<' ||
                         c == '>';
              });
    if (!ok) {
        throw SpecError("notify", fmt::format("spec field 'notify' holds \"{}\", which is not an "
                                              "e-mail address (user@domain)",
                                              address.substr(0, 80)));
    }
}

void checkWebhook(const std::string& url) {
    std::string why;
    if (!parseHttpUrl(url, &why)) {
        throw SpecError("webhook", fmt::format("spec field 'webhook' is not a usable URL (\"{}\"): "
                                               "{}",
                                               url.substr(0, 80), why));
    }
}

void checkRepos(const std::map<std::string, std::string>& repos) {
    if (repos.size() > kMaxRepos) {
        throw SpecError("repos", fmt::format("spec field 'repos' has {} entries; at most {}",
                                             repos.size(), kMaxRepos));
    }
    for (const auto& [name, url] : repos) {
        if (auto problem = repoNameProblem(name); !problem.empty()) {
            throw SpecError("repos",
                            fmt::format("repository name \"{}\" {}", name.substr(0, 80), problem));
        }
        if (auto problem = repoUrlProblem(url); !problem.empty()) {
            throw SpecError("repos", fmt::format("the URL of repository {} (\"{}\") {}", name,
                                                 url.substr(0, 120), problem));
        }
    }
}

// The names are the client's, used in messages only; the agent reads the
// files and names them by what rpm says they hold.
void checkRpmNames(const std::map<std::string, sdbus::UnixFd>& rpms) {
    if (rpms.size() > kMaxSideRpms) {
        throw SpecError("rpms", fmt::format("spec field 'rpms' has {} files; at most {}",
                                            rpms.size(), kMaxSideRpms));
    }
    for (const auto& [name, fd] : rpms) {
        bool printable = std::all_of(name.begin(), name.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u >= 0x20 && u != 0x7f && c != '/';
        });
        if (name.empty() || name.size() > 255 || !printable || !isValidUtf8(name)) {
            throw SpecError("rpms", fmt::format("spec field 'rpms' names a file \"{}\"; a name "
                                                "must be 1 to 255 bytes of printable UTF-8 "
                                                "without '/'",
                                                name.substr(0, 80)));
        }
        if (!fd.isValid()) {
            throw SpecError("rpms", fmt::format("spec field 'rpms' has no open file for {}", name));
        }
    }
}

void checkFields(const BuildSpec& s) {
    checkWord("type", s.type, 32);
    checkWord("arch", s.arch, 32);
    checkWord("release", s.release, 64);
    checkKickstart(s.kickstart);
    if (!s.name.empty()) {
        checkWord("name", s.name, 128);
    }
    if (s.notify.size() > kMaxNotify) {
        throw SpecError("notify", fmt::format("spec field 'notify' lists {} addresses; at most {}",
                                              s.notify.size(), kMaxNotify));
    }
    std::for_each(s.notify.begin(), s.notify.end(), checkEmail);
    if (s.timeoutSec > kMaxTimeoutSec) {
        throw SpecError("timeout_sec", fmt::format("spec field 'timeout_sec' is {}; allowed: 1 to "
                                                   "{} (or 0 for the host's default)",
                                                   s.timeoutSec, kMaxTimeoutSec));
    }
    if (s.labels.size() > kMaxLabels) {
        throw SpecError("labels", fmt::format("spec field 'labels' has {} entries; at most {}",
                                              s.labels.size(), kMaxLabels));
    }
    for (const auto& [key, value] : s.labels) {
        checkWord("labels", key, 64);
        if (value.size() > 256 || !isValidUtf8(value)) {
            throw SpecError("labels", fmt::format("label '{}' must be UTF-8 text of at most 256 "
                                                  "bytes",
                                                  key));
        }
    }
    if (!s.webhook.empty()) {
        checkWebhook(s.webhook);
    }
    if (s.submitter) {
        if (auto problem = submitterNameProblem(*s.submitter); !problem.empty()) {
            throw SpecError("submitter", "spec field 'submitter' " + problem);
        }
    }
    checkRepos(s.repos);
    checkRpmNames(s.rpms);
}

[[noreturn]] void unknownKey(const std::string& key) {
    throw SpecError(key, fmt::format("unknown spec field '{}'; allowed fields: {}",
                                     key.substr(0, 80), fmt::join(kKeys, ", ")));
}

void checkRequired(const std::vector<std::string>& present) {
    for (const auto& key : kRequired) {
        if (std::find(present.begin(), present.end(), key) == present.end()) {
            throw SpecError(key, fmt::format("spec field '{}' is missing; required: {}", key,
                                             fmt::join(kRequired, ", ")));
        }
    }
}

const char* signatureOf(const std::string& key) {
    if (key == "notify") {
        return "as";
    }
    if (key == "timeout_sec") {
        return "t";
    }
    if (key == "labels" || key == "repos") {
        return "a{ss}";
    }
    if (key == "updates" || key == "updates_testing") {
        return "b";
    }
    if (key == "rpms") {
        return "a{sh}";
    }
    return "s";
}

template <typename T>
T take(const std::string& key, const sdbus::Variant& v) {
    if (!v.containsValueOfType<T>()) {
        throw SpecError(key, fmt::format("spec field '{}' must be of D-Bus type '{}', got '{}'",
                                         key, signatureOf(key), v.peekValueType()));
    }
    return v.get<T>();
}

template <typename T>
T takeJson(const std::string& key, const nlohmann::json& v, const char* what) {
    try {
        return v.get<T>();
    } catch (const nlohmann::json::exception&) {
        throw SpecError(
            key, fmt::format("spec field '{}' must be {}, got {}", key, what, v.type_name()));
    }
}

}  // namespace

bool isValidUtf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        size_t len = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xe  ? 3
                     : (c >> 3) == 0x1e ? 4
                                        : 0;
        if (len == 0 || i + len > text.size()) {
            return false;
        }
        std::uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
        for (size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc >> 6) != 0x2) {
                return false;
            }
            cp = (cp << 6) | (cc & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

std::string submitterNameProblem(std::string_view name) {
    if (name.empty()) {
        return fmt::format("is empty; it must be 1 to {} characters", kMaxSubmitterChars);
    }
    if (!isValidUtf8(name)) {
        return "is not valid UTF-8";
    }
    std::size_t chars = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        auto c = static_cast<unsigned char>(name[i]);
        if ((c & 0xc0) != 0x80) {
            ++chars;
        }
        // C0 controls and DEL; C1 controls (U+0080 to U+009F) are 0xc2 0x80-0x9f.
        bool c1 = c == 0xc2 && i + 1 < name.size() &&
                  static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
                  static_cast<unsigned char>(name[i + 1]) <= 0x9f;
        if (c < 0x20 || c == 0x7f || c1) {
            return fmt::format(
                "holds a control character (byte {} is {:#04x}); it must be "
                "printable text",
                i, c);
        }
    }
    if (chars > kMaxSubmitterChars) {
        return fmt::format("is {} characters long; at most {} are allowed", chars,
                           kMaxSubmitterChars);
    }
    return {};
}

BuildSpec specFromVariants(const std::map<std::string, sdbus::Variant>& spec) {
    BuildSpec s;
    std::vector<std::string> present;
    for (const auto& [key, value] : spec) {
        if (key == "type") {
            s.type = take<std::string>(key, value);
        } else if (key == "arch") {
            s.arch = take<std::string>(key, value);
        } else if (key == "release") {
            s.release = take<std::string>(key, value);
        } else if (key == "kickstart") {
            s.kickstart = take<std::string>(key, value);
        } else if (key == "name") {
            s.name = take<std::string>(key, value);
        } else if (key == "notify") {
            s.notify = take<std::vector<std::string>>(key, value);
        } else if (key == "timeout_sec") {
            s.timeoutSec = take<std::uint64_t>(key, value);
        } else if (key == "labels") {
            s.labels = take<std::map<std::string, std::string>>(key, value);
        } else if (key == "webhook") {
            s.webhook = take<std::string>(key, value);
        } else if (key == "submitter") {
            s.submitter = take<std::string>(key, value);
        } else if (key == "repos") {
            s.repos = take<std::map<std::string, std::string>>(key, value);
        } else if (key == "updates") {
            s.updates = take<bool>(key, value);
        } else if (key == "updates_testing") {
            s.updatesTesting = take<bool>(key, value);
        } else if (key == "rpms") {
            s.rpms = take<std::map<std::string, sdbus::UnixFd>>(key, value);
        } else {
            unknownKey(key);
        }
        present.push_back(key);
    }
    checkRequired(present);
    checkFields(s);
    return s;
}

BuildSpec specFromJson(const nlohmann::json& spec) {
    if (!spec.is_object()) {
        throw SpecError("",
                        fmt::format("the spec must be a JSON object, got {}", spec.type_name()));
    }
    BuildSpec s;
    std::vector<std::string> present;
    for (const auto& [key, value] : spec.items()) {
        if (key == "type" || key == "arch" || key == "release" || key == "kickstart" ||
            key == "name" || key == "webhook") {
            auto text = takeJson<std::string>(key, value, "a string");
            (key == "type"      ? s.type
             : key == "arch"    ? s.arch
             : key == "release" ? s.release
             : key == "name"    ? s.name
             : key == "webhook" ? s.webhook
                                : s.kickstart) = std::move(text);
        } else if (key == "submitter") {
            s.submitter = takeJson<std::string>(key, value, "a string");
        } else if (key == "notify") {
            s.notify = takeJson<std::vector<std::string>>(key, value, "an array of strings");
        } else if (key == "timeout_sec") {
            if (!value.is_number_unsigned()) {
                throw SpecError(key, fmt::format("spec field 'timeout_sec' must be a non-negative "
                                                 "integer, got {}",
                                                 value.dump().substr(0, 40)));
            }
            s.timeoutSec = value.get<std::uint64_t>();
        } else if (key == "labels") {
            s.labels = takeJson<std::map<std::string, std::string>>(key, value,
                                                                    "an object of string values");
        } else if (key == "repos") {
            s.repos = takeJson<std::map<std::string, std::string>>(key, value,
                                                                   "an object of string values");
        } else if (key == "updates" || key == "updates_testing") {
            (key == "updates" ? s.updates : s.updatesTesting) =
                takeJson<bool>(key, value, "true or false");
        } else if (key == "rpms") {
            throw SpecError(key,
                            "spec field 'rpms' is not taken in JSON; upload the RPM files "
                            "as form fields named rpm (multipart/form-data)");
        } else {
            unknownKey(key);
        }
        present.push_back(key);
    }
    checkRequired(present);
    checkFields(s);
    return s;
}

void checkSupported(const BuildSpec& spec, const HostCapabilities& host) {
    auto offers = [](const std::vector<std::string>& list, const std::string& v) {
        return std::find(list.begin(), list.end(), v) != list.end();
    };
    if (!offers(host.types, spec.type)) {
        throw UnsupportedError(
            fmt::format("this host does not build image type '{}'; it builds: "
                        "{}",
                        spec.type, fmt::join(host.types, ", ")));
    }
    if (!offers(host.arches, spec.arch)) {
        throw UnsupportedError(fmt::format("this host does not build arch '{}'; it builds: {}",
                                           spec.arch, fmt::join(host.arches, ", ")));
    }
    if (!host.releases.empty() && !offers(host.releases, spec.release)) {
        throw UnsupportedError(fmt::format("this host does not build release '{}'; it builds: {}",
                                           spec.release, fmt::join(host.releases, ", ")));
    }
}

}  // namespace imagebuild
