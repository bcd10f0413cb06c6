#include "common/build_spec.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <memory>
#include <type_traits>

#include "common/http_url.hpp"
#include "common/side_repos.hpp"

namespace imagebuild {

namespace {

using json = nlohmann::json;

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

// ---- The validation of each key (the table's last column)

void checkType(const std::string& key, const std::string& value) {
    checkWord(key, value, 32);
}
void checkArch(const std::string& key, const std::string& value) {
    checkWord(key, value, 32);
}
void checkRelease(const std::string& key, const std::string& value) {
    checkWord(key, value, 64);
}
void checkName(const std::string& key, const std::string& value) {
    checkWord(key, value, 128);
}

void checkKickstart(const std::string&, const std::string& ks) {
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

void checkNotify(const std::string&, const std::vector<std::string>& notify) {
    if (notify.size() > kMaxNotify) {
        throw SpecError("notify", fmt::format("spec field 'notify' lists {} addresses; at most {}",
                                              notify.size(), kMaxNotify));
    }
    std::for_each(notify.begin(), notify.end(), checkEmail);
}

void checkTimeout(const std::string&, const std::uint64_t& timeoutSec) {
    if (timeoutSec > kMaxTimeoutSec) {
        throw SpecError("timeout_sec", fmt::format("spec field 'timeout_sec' is {}; allowed: 1 to "
                                                   "{} (or 0 for the host's default)",
                                                   timeoutSec, kMaxTimeoutSec));
    }
}

void checkLabels(const std::string&, const std::map<std::string, std::string>& labels) {
    if (labels.size() > kMaxLabels) {
        throw SpecError("labels", fmt::format("spec field 'labels' has {} entries; at most {}",
                                              labels.size(), kMaxLabels));
    }
    for (const auto& [key, value] : labels) {
        checkWord("labels", key, 64);
        if (value.size() > 256 || !isValidUtf8(value)) {
            throw SpecError("labels", fmt::format("label '{}' must be UTF-8 text of at most 256 "
                                                  "bytes",
                                                  key));
        }
    }
}

void checkWebhook(const std::string&, const std::string& url) {
    std::string why;
    if (!parseHttpUrl(url, &why)) {
        throw SpecError("webhook", fmt::format("spec field 'webhook' is not a usable URL (\"{}\"): "
                                               "{}",
                                               url.substr(0, 80), why));
    }
}

void checkSubmitter(const std::string&, const std::string& submitter) {
    if (auto problem = submitterNameProblem(submitter); !problem.empty()) {
        throw SpecError("submitter", "spec field 'submitter' " + problem);
    }
}

void checkRepos(const std::string&, const std::map<std::string, std::string>& repos) {
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

void checkFlag(const std::string&, const bool&) {}

void checkPriority(const std::string&, const std::int32_t& priority) {
    if (priority < kMinPriority || priority > kMaxPriority) {
        throw SpecError("priority", fmt::format("spec field 'priority' is {}; allowed: {} to {} "
                                                "(0 is normal, higher starts first)",
                                                priority, kMinPriority, kMaxPriority));
    }
}

// The names are the client's, used in messages only; the agent reads the
// files and names them by what rpm says they hold.
void checkRpmNames(const std::string&, const std::map<std::string, sdbus::UnixFd>& rpms) {
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

// ---- How each C++ type of a key travels

struct Row;

// What a key's JSON, form text and D-Bus value become, by the member's type.
template <typename T>
struct Wire;

template <>
struct Wire<std::string> {
    static constexpr const char* kJson = "a string";
    static constexpr bool kRepeatable = false;
    static bool isJson(const json& v) { return v.is_string(); }
    static void fromText(const std::string&, const std::string& text, std::string& out) {
        out = text;
    }
};

template <>
struct Wire<std::vector<std::string>> {
    static constexpr const char* kJson = "an array of strings";
    static constexpr bool kRepeatable = true;  // a form field given once per item
    static bool isJson(const json& v) {
        return v.is_array() &&
               std::all_of(v.begin(), v.end(), [](const json& item) { return item.is_string(); });
    }
    static void fromText(const std::string&, const std::string& text,
                         std::vector<std::string>& out) {
        out.push_back(text);
    }
};

template <>
struct Wire<std::uint64_t> {
    static constexpr const char* kJson = "a non-negative integer";
    static constexpr bool kRepeatable = false;
    static bool isJson(const json& v) { return v.is_number_unsigned(); }
    static void fromText(const std::string& key, const std::string& text, std::uint64_t& out) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (ec != std::errc() || end != text.data() + text.size()) {
            throw SpecError(key, fmt::format("'{}' must be {}", key, kJson));
        }
    }
};

// A form gives one KEY=VALUE field per entry ("label=team=qa").
template <>
struct Wire<std::map<std::string, std::string>> {
    static constexpr const char* kJson = "an object of strings";
    static constexpr bool kRepeatable = true;
    static bool isJson(const json& v) { return v.is_object(); }
    static void fromText(const std::string& field, const std::string& text,
                         std::map<std::string, std::string>& out) {
        auto eq = text.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw SpecError(field, fmt::format("{} '{}' must be KEY=VALUE", field, text));
        }
        if (!out.emplace(text.substr(0, eq), text.substr(eq + 1)).second) {
            throw SpecError(field,
                            fmt::format("{} '{}' is given twice", field, text.substr(0, eq)));
        }
    }
};

// The priority: any JSON integer that fits, its range checked by
// checkPriority (kMinPriority to kMaxPriority, said here too).
template <>
struct Wire<std::int32_t> {
    static constexpr const char* kJson = "an integer from -100 to 100";
    static constexpr bool kRepeatable = false;
    static bool isJson(const json& v) {
        using Limits = std::numeric_limits<std::int32_t>;
        return v.is_number_unsigned()
                   ? v.get<std::uint64_t>() <= std::uint64_t{Limits::max()}
                   : v.is_number_integer() && v.get<std::int64_t>() >= Limits::min() &&
                         v.get<std::int64_t>() <= Limits::max();
    }
    static void fromText(const std::string& key, const std::string& text, std::int32_t& out) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (ec != std::errc() || end != text.data() + text.size()) {
            throw SpecError(key, fmt::format("'{}' must be {}", key, kJson));
        }
    }
};

template <>
struct Wire<bool> {
    static constexpr const char* kJson = "true or false";
    static constexpr bool kRepeatable = false;
    static bool isJson(const json& v) { return v.is_boolean(); }
    static void fromText(const std::string& key, const std::string& text, bool& out) {
        if (text != "true" && text != "false") {
            throw SpecError(key, fmt::format("'{}' must be {}", key, kJson));
        }
        out = text == "true";
    }
};

// Open files travel only over D-Bus: JSON carries their names (what a
// record keeps), and reading names back gives no files.
using RpmFds = std::map<std::string, sdbus::UnixFd>;
template <>
struct Wire<RpmFds> {
    static constexpr const char* kJson = "a list of file names";
    static constexpr bool kRepeatable = false;
    static bool isJson(const json& v) { return v.is_array(); }
    static void fromText(const std::string& key, const std::string&, RpmFds&) {
        throw SpecError(key, fmt::format("'{}' cannot be given in a form", key));
    }
};

// A member that may be absent (std::optional) or is unset at its default.
template <typename M>
struct Slot {
    using Value = M;
    static bool isSet(const M& m) {
        if constexpr (std::is_same_v<M, RpmFds>) {
            return !m.empty();
        } else {
            return m != M{};
        }
    }
    static const M& get(const M& m) { return m; }
    static M& fill(M& m) { return m; }
};

template <typename T>
struct Slot<std::optional<T>> {
    using Value = T;
    static bool isSet(const std::optional<T>& m) { return m.has_value(); }
    static const T& get(const std::optional<T>& m) { return *m; }
    static T& fill(std::optional<T>& m) { return m ? *m : m.emplace(); }
};

// One key's codec, made from its member by FieldOf below.
class Field {
public:
    virtual ~Field() = default;
    virtual std::string dbusType() const = 0;
    virtual std::string jsonType() const = 0;
    virtual bool repeatable() const = 0;
    virtual bool isSet(const BuildSpec& s) const = 0;
    virtual bool canBeUnset() const = 0;  // std::optional: "absent" has no value to write
    virtual void fromVariant(const std::string& key, const sdbus::Variant& v,
                             BuildSpec& s) const = 0;
    virtual sdbus::Variant toVariant(const BuildSpec& s) const = 0;
    // item: what one entry of a map is called in messages ("label").
    virtual void fromJson(const std::string& key, const std::string& item, const json& v,
                          BuildSpec& s) const = 0;
    virtual json toJson(const BuildSpec& s) const = 0;
    virtual void fromText(const std::string& field, const std::string& text,
                          BuildSpec& s) const = 0;
    virtual void check(const std::string& key, const BuildSpec& s) const = 0;
};

template <typename M>
class FieldOf final : public Field {
public:
    using Value = typename Slot<M>::Value;
    using Check = void (*)(const std::string& key, const Value& value);

    FieldOf(M BuildSpec::*member, Check check) : member_(member), check_(check) {}

    std::string dbusType() const override { return sdbus::signature_of<Value>::str(); }
    std::string jsonType() const override { return Wire<Value>::kJson; }
    bool repeatable() const override { return Wire<Value>::kRepeatable; }
    bool isSet(const BuildSpec& s) const override { return Slot<M>::isSet(s.*member_); }
    bool canBeUnset() const override { return !std::is_same_v<M, Value>; }

    void fromVariant(const std::string& key, const sdbus::Variant& v, BuildSpec& s) const override {
        if (!v.containsValueOfType<Value>()) {
            throw SpecError(key, fmt::format("spec field '{}' must be of D-Bus type '{}', got '{}'",
                                             key, dbusType(), v.peekValueType()));
        }
        Slot<M>::fill(s.*member_) = v.get<Value>();
    }

    sdbus::Variant toVariant(const BuildSpec& s) const override {
        return sdbus::Variant(Slot<M>::get(s.*member_));
    }

    void fromJson(const std::string& key, const std::string& item, const json& v,
                  BuildSpec& s) const override {
        if (!Wire<Value>::isJson(v)) {
            throw SpecError(key, fmt::format("'{}' must be {}", key, jsonType()));
        }
        if constexpr (std::is_same_v<Value, std::map<std::string, std::string>>) {
            for (const auto& [k, value] : v.items()) {
                if (!value.is_string()) {
                    throw SpecError(key, fmt::format("{} '{}' must be a string", item, k));
                }
            }
        }
        if constexpr (!std::is_same_v<Value, RpmFds>) {
            Slot<M>::fill(s.*member_) = v.get<Value>();
        }
    }

    json toJson(const BuildSpec& s) const override {
        if constexpr (std::is_same_v<Value, RpmFds>) {
            json names = json::array();
            for (const auto& entry : s.*member_) {
                names.push_back(entry.first);
            }
            return names;
        } else {
            return json(Slot<M>::get(s.*member_));
        }
    }

    void fromText(const std::string& field, const std::string& text, BuildSpec& s) const override {
        Wire<Value>::fromText(field, text, Slot<M>::fill(s.*member_));
    }

    void check(const std::string& key, const BuildSpec& s) const override {
        check_(key, Slot<M>::get(s.*member_));
    }

private:
    M BuildSpec::*member_;
    Check check_;
};

enum class Need { kRequired, kOptional };

// One key: the row of the table.
struct Row {
    std::string name;
    Need need;
    // Its field in the multipart form of POST /v1/builds; empty: none (the
    // form takes the kickstart as text, file or tree itself).
    std::string formField;
    // Why a JSON body may not set it; empty: it may.
    std::string notInBody;
    std::shared_ptr<const Field> field;

    bool required() const { return need == Need::kRequired; }
};

template <typename M>
Row row(std::string name, M BuildSpec::*member, Need need, std::string formField,
        typename FieldOf<M>::Check check, std::string notInBody = {}) {
    return Row{std::move(name), need, std::move(formField), std::move(notInBody),
               std::make_shared<FieldOf<M>>(member, check)};
}

// THE key table. Its order is the order of validation and of the lists in
// messages ("allowed fields: ..."). Required keys are strings.
const std::vector<Row>& keyTable() {
    static const std::vector<Row> table = {
        row("type", &BuildSpec::type, Need::kRequired, "type", checkType),
        row("arch", &BuildSpec::arch, Need::kRequired, "arch", checkArch),
        row("release", &BuildSpec::release, Need::kRequired, "release", checkRelease),
        row("kickstart", &BuildSpec::kickstart, Need::kRequired, "", checkKickstart),
        row("name", &BuildSpec::name, Need::kOptional, "name", checkName),
        row("notify", &BuildSpec::notify, Need::kOptional, "notify", checkNotify),
        row("timeout_sec", &BuildSpec::timeoutSec, Need::kOptional, "timeout_sec", checkTimeout),
        row("labels", &BuildSpec::labels, Need::kOptional, "label", checkLabels),
        row("webhook", &BuildSpec::webhook, Need::kOptional, "webhook", checkWebhook),
        row("submitter", &BuildSpec::submitter, Need::kOptional, "", checkSubmitter,
            "it is the name of the bearer token"),
        row("priority", &BuildSpec::priority, Need::kOptional, "", checkPriority),
        row("repos", &BuildSpec::repos, Need::kOptional, "", checkRepos),
        row("updates", &BuildSpec::updates, Need::kOptional, "", checkFlag),
        row("updates_testing", &BuildSpec::updatesTesting, Need::kOptional, "", checkFlag),
        row("rpms", &BuildSpec::rpms, Need::kOptional, "", checkRpmNames,
            "side RPMs are files: send them as 'rpm' parts of a multipart/form-data body, "
            "the spec as its 'spec' part (imagebuildctl build --rpm)"),
    };
    return table;
}

const Row* findRow(const std::string& name) {
    const auto& table = keyTable();
    auto it =
        std::find_if(table.begin(), table.end(), [&](const Row& r) { return r.name == name; });
    return it == table.end() ? nullptr : &*it;
}

// The names of the rows that pass `keep`, joined with ", ".
template <typename Keep>
std::string namesOf(Keep keep, bool formNames = false) {
    std::vector<std::string> names;
    for (const auto& r : keyTable()) {
        if (keep(r)) {
            names.push_back(formNames ? r.formField : r.name);
        }
    }
    return fmt::format("{}", fmt::join(names, ", "));
}

bool isRequired(const Row& r) {
    return r.required();
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

const std::vector<SpecKey>& specKeys() {
    static const std::vector<SpecKey> keys = [] {
        std::vector<SpecKey> out;
        for (const auto& r : keyTable()) {
            out.push_back({r.name, r.field->dbusType(), r.field->jsonType(), r.required(),
                           r.formField, r.notInBody.empty()});
        }
        return out;
    }();
    return keys;
}

void validateSpec(const BuildSpec& spec) {
    for (const auto& r : keyTable()) {
        if (r.required() || r.field->isSet(spec)) {
            r.field->check(r.name, spec);
        }
    }
}

BuildSpec specFromVariants(const std::map<std::string, sdbus::Variant>& spec) {
    BuildSpec s;
    for (const auto& [key, value] : spec) {
        const auto* r = findRow(key);
        if (!r) {
            throw SpecError(
                key, fmt::format("unknown spec field '{}'; allowed fields: {}", key.substr(0, 80),
                                 namesOf([](const Row&) { return true; })));
        }
        r->field->fromVariant(key, value, s);
    }
    for (const auto& r : keyTable()) {
        if (r.required() && !spec.count(r.name)) {
            throw SpecError(r.name, fmt::format("spec field '{}' is missing; required: {}", r.name,
                                                namesOf(isRequired)));
        }
    }
    validateSpec(s);
    return s;
}

std::map<std::string, sdbus::Variant> specToVariants(const BuildSpec& spec) {
    std::map<std::string, sdbus::Variant> out;
    for (const auto& r : keyTable()) {
        if (r.required() || r.field->isSet(spec)) {
            out.emplace(r.name, r.field->toVariant(spec));
        }
    }
    return out;
}

BuildSpec specFromJson(const nlohmann::json& spec) {
    if (!spec.is_object()) {
        throw SpecError("",
                        fmt::format("the spec must be a JSON object, got {}", spec.type_name()));
    }
    BuildSpec s;
    for (const auto& r : keyTable()) {
        if (!r.required()) {
            continue;
        }
        auto it = spec.find(r.name);
        if (it == spec.end()) {
            throw SpecError(r.name, fmt::format("'{}' is required", r.name));
        }
        if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
            throw SpecError(r.name, fmt::format("'{}' must be a non-empty string", r.name));
        }
    }
    for (const auto& [key, value] : spec.items()) {
        const auto* r = findRow(key);
        if (!r) {
            throw SpecError(key,
                            fmt::format("unknown key '{}' (allowed: {})", key,
                                        namesOf([](const Row& r) { return r.notInBody.empty(); })));
        }
        if (!r->notInBody.empty()) {
            throw SpecError(key, fmt::format("'{}' cannot be given: {}", key, r->notInBody));
        }
        r->field->fromJson(key, r->formField.empty() ? key : r->formField, value, s);
    }
    validateSpec(s);
    return s;
}

nlohmann::json specToJson(const BuildSpec& spec, SpecJson keys) {
    auto out = nlohmann::json::object();
    for (const auto& r : keyTable()) {
        bool every = keys == SpecJson::kEveryKey && !r.field->canBeUnset();
        if (every || r.required() || r.field->isSet(spec)) {
            out[r.name] = r.field->toJson(spec);
        }
    }
    return out;
}

void readSpecKeys(const nlohmann::json& j, BuildSpec& spec) {
    for (const auto& r : keyTable()) {
        if (auto it = j.find(r.name); it != j.end()) {
            r.field->fromJson(r.name, r.name, *it, spec);
        }
    }
}

bool specFieldFromForm(const std::string& field, const std::string& text, BuildSpec& spec,
                       std::set<std::string>& given) {
    const auto& table = keyTable();
    auto it = std::find_if(table.begin(), table.end(), [&](const Row& r) {
        return !r.formField.empty() && r.formField == field;
    });
    if (it == table.end()) {
        return false;
    }
    if (!given.insert(field).second && !it->field->repeatable()) {
        throw SpecError(it->name, fmt::format("'{}' is given twice", field));
    }
    it->field->fromText(field, text, spec);
    return true;
}

void checkFormRequired(const BuildSpec& spec) {
    for (const auto& r : keyTable()) {
        if (r.required() && !r.formField.empty() && !r.field->isSet(spec)) {
            throw SpecError(r.name, fmt::format("'{}' is required", r.formField));
        }
    }
}

std::string specFormFields() {
    return namesOf([](const Row& r) { return !r.formField.empty(); }, true);
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
