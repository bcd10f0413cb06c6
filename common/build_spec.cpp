#include "common/build_spec.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/http_url.hpp"

namespace imagebuild {

namespace {

const std::vector<std::string> kKeys = {"type",    "arch",      "release",     "kickstart",
                                        "name",    "notify",    "timeout_sec", "labels",
                                        "webhook", "submitter", "priority"};
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

void checkPriority(std::int64_t priority) {
    if (priority < kMinPriority || priority > kMaxPriority) {
        throw SpecError("priority", fmt::format("spec field 'priority' is {}; allowed: {} to {} "
                                                "(0 is normal, higher starts first)",
                                                priority, kMinPriority, kMaxPriority));
    }
}

// An integer; one outside int32 is out of range, said with the range.
std::int32_t priorityFromJson(const nlohmann::json& value) {
    if (!value.is_number_integer()) {
        throw SpecError("priority",
                        fmt::format("spec field 'priority' must be an integer from {} "
                                    "to {}, got {}",
                                    kMinPriority, kMaxPriority, value.dump().substr(0, 40)));
    }
    auto wide = value.is_number_unsigned()
                    ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                          value.get<std::uint64_t>(), std::numeric_limits<std::int64_t>::max()))
                    : value.get<std::int64_t>();
    checkPriority(wide);
    return static_cast<std::int32_t>(wide);
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
    checkPriority(s.priority);
    if (s.submitter) {
        if (auto problem = submitterNameProblem(*s.submitter); !problem.empty()) {
            throw SpecError("submitter", "spec field 'submitter' " + problem);
        }
    }
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
    if (key == "labels") {
        return "a{ss}";
    }
    if (key == "priority") {
        return "i";
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
        } else if (key == "priority") {
            s.priority = take<std::int32_t>(key, value);
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
        } else if (key == "priority") {
            s.priority = priorityFromJson(value);
        } else if (key == "labels") {
            s.labels = takeJson<std::map<std::string, std::string>>(key, value,
                                                                    "an object of string values");
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
