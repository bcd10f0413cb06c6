#include "common/config.hpp"

#include "imagebuild_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <set>

#include "common/atomic_file.hpp"
#include "common/config_problems.hpp"
#include "common/http_url.hpp"
#include "common/ini_file.hpp"
#include "common/side_repos.hpp"

namespace imagebuild {

std::optional<RetryPolicy> parseRetryPolicy(const std::string& text, std::string* problem) {
    constexpr std::string_view kPrefix = "infra:";
    RetryPolicy policy;
    std::string_view count(text);
    bool ok = count.substr(0, kPrefix.size()) == kPrefix;
    if (ok) {
        count.remove_prefix(kPrefix.size());
        auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), policy.infra);
        ok = !count.empty() && ec == std::errc{} && end == count.data() + count.size() &&
             policy.infra <= kMaxRetries;
    }
    if (!ok) {
        if (problem != nullptr) {
            *problem = fmt::format(
                "retry must be infra:N (N from 0 to {}: how many more attempts a build whose "
                "attempt failed for a reason of the host gets), not \"{}\"",
                kMaxRetries, text);
        }
        return std::nullopt;
    }
    return policy;
}

namespace {

const std::vector<std::string> kHostKeys = {
    "arches",     "releases",  "max_parallel", "queue_max",   "idle_exit_sec", "monitor_url",
    "memory_max", "cpu_quota", "tasks_max",    "timeout_sec", "min_free"};
const std::vector<std::string> kTypeKeys = {"command", "tools",         "sandbox",
                                            "network", "artifacts",     "description",
                                            "retry",   "stall_timeout", "stall_action"};

using Located = IniValue;

class Checker {
public:
    explicit Checker(std::string fileName) : fileName_(std::move(fileName)) {}

    [[noreturn]] void fail(int line, const std::string& what) const {
        throw ConfigError(fmt::format("{}:{}: {}", fileName_, line, what));
    }

    std::uint64_t number(const std::string& key, const Located& v, std::uint64_t min,
                         std::uint64_t max) const {
        std::uint64_t n = 0;
        const auto& s = v.value;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || n < min || n > max) {
            fail(v.line, fmt::format("{} must be a whole number from {} to {}, not \"{}\"", key,
                                     min, max, s));
        }
        return n;
    }

    // "2G" -> {"2", 2^30}: the digits and the factor of a K, M, G or T
    // suffix (powers of 1024), 1 without one.
    static std::pair<std::string, std::uint64_t> splitSizeUnit(std::string digits) {
        std::uint64_t factor = 1;
        if (!digits.empty() && std::strchr("KMGT", digits.back())) {
            int shift = 10 * (static_cast<int>(std::string_view("KMGT").find(digits.back())) + 1);
            factor = std::uint64_t{1} << shift;
            digits.pop_back();
        }
        return {digits, factor};
    }

    std::optional<std::uint64_t> bytes(const std::string& key, const Located& v) const {
        if (v.value == "infinity") {
            return std::nullopt;
        }
        auto [digits, factor] = splitSizeUnit(v.value);
        auto n = number(key, Located{digits, v.line}, 1, UINT64_MAX / factor);
        return n * factor;
    }

    // A size: a whole number of bytes, or with K, M, G or T (powers of
    // 1024); 0 is allowed.
    std::uint64_t size(const std::string& key, const Located& v) const {
        auto [digits, factor] = splitSizeUnit(v.value);
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            n > UINT64_MAX / factor) {
            fail(v.line,
                 fmt::format("{} must be a size such as 2G, 500M or 0, not \"{}\"", key, v.value));
        }
        return n * factor;
    }

    // "45s", "90min", "12h", "30d", "2w", a bare number of seconds, or
    // "infinity" (nullopt).
    std::optional<std::uint64_t> duration(const std::string& key, const Located& v) const {
        if (v.value == "infinity") {
            return std::nullopt;
        }
        static const std::vector<std::pair<std::string, std::uint64_t>> units = {
            {"min", 60}, {"s", 1}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400}};
        std::string digits = v.value;
        std::uint64_t factor = 1;
        for (const auto& [suffix, seconds] : units) {
            if (digits.size() > suffix.size() &&
                digits.compare(digits.size() - suffix.size(), suffix.size(), suffix) == 0) {
                digits.resize(digits.size() - suffix.size());
                factor = seconds;
                break;
            }
        }
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            n > UINT64_MAX / factor / 1000000) {
            fail(v.line, fmt::format("{} must be a duration such as 30d, 12h, 90min or 45s, or "
                                     "infinity, not \"{}\"",
                                     key, v.value));
        }
        return n * factor;
    }

    std::optional<std::uint64_t> percent(const std::string& key, const Located& v) const {
        if (v.value.empty() || v.value.back() != '%') {
            fail(v.line,
                 fmt::format("{} must be a percentage such as 200%, not \"{}\"", key, v.value));
        }
        return number(key, Located{v.value.substr(0, v.value.size() - 1), v.line}, 1, 100000);
    }

    bool yesNo(const std::string& key, const Located& v) const {
        const auto& s = v.value;
        if (s != "yes" && s != "no" && s != "true" && s != "false") {
            fail(v.line, fmt::format("{} must be yes or no, not \"{}\"", key, s));
        }
        return s == "yes" || s == "true";
    }

    // Every unknown key of the section, one "file:line: ..." line each in
    // the order of the file: a typo fixed should not reveal the next one.
    void knownKeys(const std::string& section, const std::map<std::string, Located>& entries,
                   const std::vector<std::string>& known) const {
        std::map<int, std::string> unknown;
        for (const auto& [key, v] : entries) {
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                unknown[v.line] =
                    fmt::format("{}:{}: unknown key '{}' in [{}]; known keys: {}", fileName_,
                                v.line, key, section, fmt::join(known, ", "));
            }
        }
        throwIfAny(unknown);
    }

private:
    std::string fileName_;
};

bool isName(const std::string& s) {
    return !s.empty() && s.size() <= 32 && std::islower(static_cast<unsigned char>(s[0])) &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return std::islower(static_cast<unsigned char>(c)) ||
                      std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
           });
}

std::string machineArch() {
    struct utsname u {};
    ::uname(&u);
    return u.machine;
}

HostConfig checkHost(const Checker& check, const std::map<std::string, Located>& e) {
    check.knownKeys("host", e, kHostKeys);
    HostConfig h;
    auto get = [&e](const char* key) {
        return e.find(key);
    };
    h.arches = {machineArch()};
    if (auto it = get("arches"); it != e.end()) {
        h.arches = splitWords(it->second.value);
        if (h.arches.empty()) {
            check.fail(it->second.line, "arches is empty; list at least one, e.g. x86_64");
        }
    }
    if (auto it = get("releases"); it != e.end()) {
        h.releases = splitWords(it->second.value);
    }
    if (auto it = get("max_parallel"); it != e.end()) {
        h.maxParallel =
            static_cast<std::uint32_t>(check.number("max_parallel", it->second, 1, 256));
    }
    if (auto it = get("queue_max"); it != e.end()) {
        h.queueMax = static_cast<std::uint32_t>(check.number("queue_max", it->second, 0, 100000));
    }
    if (auto it = get("idle_exit_sec"); it != e.end()) {
        h.idleExitSec = check.number("idle_exit_sec", it->second, 0, 86400);
    }
    if (auto it = get("monitor_url"); it != e.end()) {
        h.monitorUrl = it->second.value;
    }
    if (auto it = get("memory_max"); it != e.end()) {
        h.memoryMax = check.bytes("memory_max", it->second);
    }
    if (auto it = get("cpu_quota"); it != e.end()) {
        h.cpuQuotaPercent = check.percent("cpu_quota", it->second);
    }
    if (auto it = get("tasks_max"); it != e.end()) {
        h.tasksMax = check.number("tasks_max", it->second, 1, 1000000);
    }
    if (auto it = get("timeout_sec"); it != e.end()) {
        h.timeoutSec = check.number("timeout_sec", it->second, 1, 7 * 86400);
    }
    if (auto it = get("min_free"); it != e.end()) {
        h.minFreeBytes = check.size("min_free", it->second);
    }
    return h;
}

StagingConfig checkStaging(const Checker& check, const std::map<std::string, Located>& e) {
    check.knownKeys("staging", e, {"copy_to"});
    StagingConfig staging;
    if (auto it = e.find("copy_to"); it != e.end()) {
        if (it->second.value.empty() || it->second.value.front() != '/') {
            check.fail(it->second.line, fmt::format("copy_to must be an absolute path, not \"{}\"",
                                                    it->second.value));
        }
        staging.copyTo = it->second.value;
    }
    return staging;
}

MailConfig checkMail(const Checker& check, const std::map<std::string, Located>& e) {
    check.knownKeys("mail", e, {"enabled", "from", "sendmail", "public_url"});
    MailConfig mail;
    if (auto it = e.find("enabled"); it != e.end()) {
        const auto& v = it->second.value;
        if (v != "yes" && v != "no" && v != "true" && v != "false") {
            check.fail(it->second.line,
                       fmt::format("enabled must be yes or no, not \"{}\"", it->second.value));
        }
        mail.enabled = v == "yes" || v == "true";
    }
    if (auto it = e.find("from"); it != e.end()) {
        mail.from = it->second.value;
    }
    if (auto it = e.find("sendmail"); it != e.end()) {
        mail.sendmail = splitWords(it->second.value);
        if (mail.sendmail.empty() || mail.sendmail.front().front() != '/') {
            check.fail(it->second.line,
                       fmt::format("sendmail must start with an absolute program path, not \"{}\"",
                                   it->second.value));
        }
    }
    if (auto it = e.find("public_url"); it != e.end()) {
        mail.publicUrl = it->second.value;
        while (!mail.publicUrl.empty() && mail.publicUrl.back() == '/') {
            mail.publicUrl.pop_back();
        }
    }
    return mail;
}

RetentionConfig checkRetention(const Checker& check, const std::map<std::string, Located>& e) {
    check.knownKeys("retention", e, {"max_age", "max_total_size"});
    RetentionConfig retention;
    if (auto it = e.find("max_age"); it != e.end()) {
        retention.maxAgeSec = check.duration("max_age", it->second);
    }
    if (auto it = e.find("max_total_size"); it != e.end()) {
        retention.maxTotalBytes = check.bytes("max_total_size", it->second);
    }
    return retention;
}

WebhookConfig checkWebhook(const Checker& check, const std::map<std::string, Located>& e) {
    check.knownKeys("webhook", e, {"url", "allow_private"});
    WebhookConfig webhook;
    if (auto it = e.find("allow_private"); it != e.end()) {
        webhook.allowPrivate = check.yesNo("allow_private", it->second);
    }
    if (auto it = e.find("url"); it != e.end() && !it->second.value.empty()) {
        std::string why;
        if (!parseHttpUrl(it->second.value, &why)) {
            check.fail(it->second.line,
                       fmt::format("url \"{}\" is not usable: {}", it->second.value, why));
        }
        webhook.url = it->second.value;
    }
    return webhook;
}

// An updates URL template: checked as a repository URL once {release} and
// {arch} are filled in; empty is allowed (no such repository).
void checkUpdatesUrl(const Checker& check, const std::string& key, const Located& v) {
    if (v.value.empty()) {
        return;
    }
    if (auto problem = repoUrlProblem(expandRepoTemplate(v.value, "39", "x86_64"));
        !problem.empty()) {
        check.fail(v.line, fmt::format("{} \"{}\" {}", key, v.value, problem));
    }
}

ReleaseRepos checkReleaseRepos(const Checker& check, const std::map<std::string, Located>& e,
                               ReleaseRepos repos) {
    if (auto it = e.find("updates"); it != e.end()) {
        checkUpdatesUrl(check, "updates", it->second);
        repos.updates = it->second.value;
    }
    if (auto it = e.find("updates_testing"); it != e.end()) {
        checkUpdatesUrl(check, "updates_testing", it->second);
        repos.updatesTesting = it->second.value;
    }
    return repos;
}

RepositoriesConfig checkRepositories(const Checker& check,
                                     const std::map<std::string, Located>& e) {
    check.knownKeys("repositories", e, {"updates", "updates_testing", "max_upload"});
    RepositoriesConfig repositories;
    repositories.defaults = checkReleaseRepos(check, e, repositories.defaults);
    if (auto it = e.find("max_upload"); it != e.end()) {
        repositories.maxUploadBytes = check.size("max_upload", it->second);
    }
    return repositories;
}

// A key with two words for values: "KEY must be A or B, not \"...\"" else.
template <typename E>
E eitherOf(const Checker& check, const char* key, const Located& v, const char* a, E aValue,
           const char* b, E bValue) {
    if (v.value == a) {
        return aValue;
    }
    if (v.value != b) {
        check.fail(v.line, fmt::format("{} must be {} or {}, not \"{}\"", key, a, b, v.value));
    }
    return bValue;
}

ImageType checkType(const Checker& check, const std::string& name, int sectionLine,
                    const std::map<std::string, Located>& e) {
    if (!isName(name)) {
        check.fail(sectionLine, fmt::format("bad image type name \"{}\": use lower-case letters, "
                                            "digits, '-' and '_', starting with a letter",
                                            name));
    }
    check.knownKeys("type." + name, e, kTypeKeys);
    ImageType t;
    t.name = name;
    auto command = e.find("command");
    if (command == e.end()) {
        check.fail(sectionLine, fmt::format("[type.{}] has no command", name));
    }
    try {
        t.command = ArgvTemplate::parse(command->second.value);
    } catch (const ArgvTemplateError& err) {
        check.fail(command->second.line, err.what());
    }
    if (auto it = e.find("tools"); it != e.end()) {
        t.tools = splitWords(it->second.value);
    } else {
        t.tools = {t.command.elements().front()};
    }
    if (auto it = e.find("sandbox"); it != e.end()) {
        t.sandbox = eitherOf(check, "sandbox", it->second, "strict", Sandbox::kStrict, "none",
                             Sandbox::kNone);
    }
    if (auto it = e.find("network"); it != e.end()) {
        t.network = check.yesNo("network", it->second);
    }
    if (auto it = e.find("artifacts"); it != e.end()) {
        t.artifacts = splitWords(it->second.value);
    }
    if (auto it = e.find("description"); it != e.end()) {
        t.description = it->second.value;
    }
    if (auto it = e.find("retry"); it != e.end()) {
        std::string problem;
        auto policy = parseRetryPolicy(it->second.value, &problem);
        if (!policy) {
            check.fail(it->second.line, problem);
        }
        t.retry = *policy;
    }
    if (auto it = e.find("stall_timeout"); it != e.end()) {
        t.stallTimeoutSec = check.number("stall_timeout", it->second, 0, 7 * 86400);
    }
    if (auto it = e.find("stall_action"); it != e.end()) {
        t.stallAction = eitherOf(check, "stall_action", it->second, "none", StallAction::kNone,
                                 "cancel", StallAction::kCancel);
    }
    return t;
}

// The URLs in mails and in MonitorUrl are the forwarder's: when [host]
// monitor_url or [mail] public_url are not set, they follow [forwarder]
// public_url (checked by the forwarder, which owns that section).
void applyForwarderPublicUrl(const std::map<std::string, Located>& forwarder, Config& config) {
    auto it = forwarder.find("public_url");
    if (it == forwarder.end()) {
        return;
    }
    std::string base = it->second.value;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    if (base.empty()) {
        return;
    }
    if (config.host.monitorUrl.empty()) {
        config.host.monitorUrl = base + "/monitor/{id}";
    }
    if (config.mail.publicUrl.empty()) {
        config.mail.publicUrl = base;
    }
}

}  // namespace

Config parseConfig(std::string_view text, const std::string& fileName) {
    auto raw = parseIniFile(text, fileName, kConfigListKeys);
    Checker check(fileName);
    Config config;
    config.host = checkHost(check, raw.sections["host"]);
    config.staging = checkStaging(check, raw.sections["staging"]);
    config.mail = checkMail(check, raw.sections["mail"]);
    config.retention = checkRetention(check, raw.sections["retention"]);
    config.webhook = checkWebhook(check, raw.sections["webhook"]);
    config.repositories = checkRepositories(check, raw.sections["repositories"]);
    applyForwarderPublicUrl(raw.sections["forwarder"], config);
    for (const auto& section : raw.sectionOrder) {
        int line = raw.sectionLines[section];
        // [forwarder] shares the file and is the forwarder's to check.
        if (section == "host" || section == "staging" || section == "mail" ||
            section == "retention" || section == "webhook" || section == "forwarder" ||
            section == "repositories") {
            continue;
        }
        if (section.rfind("release.", 0) == 0) {
            auto release = section.substr(8);
            check.knownKeys(section, raw.sections[section], {"updates", "updates_testing"});
            config.repositories.releases[release] =
                checkReleaseRepos(check, raw.sections[section], config.repositories.defaults);
            continue;
        }
        if (section.rfind("type.", 0) != 0) {
            int at = raw.sections[section].begin()->second.line;
            check.fail(line ? line : at,
                       fmt::format("unknown section [{}]; known: [host], [staging], [mail], "
                                   "[retention], [webhook], [repositories], [forwarder], "
                                   "[release.<name>], [type.<name>]",
                                   section));
        }
        auto name = section.substr(5);
        config.types[name] = checkType(check, name, line, raw.sections[section]);
    }
    if (config.types.empty()) {
        throw ConfigError(
            fmt::format("{}:{}: no [type.<name>] section: this host would build "
                        "nothing",
                        fileName, raw.lineCount + 1));
    }
    return config;
}

std::string updatesUrlFor(const RepositoriesConfig& repositories, const std::string& release,
                          const std::string& arch, bool testing) {
    auto it = repositories.releases.find(release);
    const auto& repos = it == repositories.releases.end() ? repositories.defaults : it->second;
    const auto& url = testing ? repos.updatesTesting : repos.updates;
    return url.empty() ? std::string() : expandRepoTemplate(url, release, arch);
}

std::vector<std::string> splitWords(const std::string& value) {
    std::vector<std::string> out;
    std::string w;
    for (char c : value + " ") {
        if (c == ' ' || c == '\t' || c == ',') {
            if (!w.empty()) {
                out.push_back(std::move(w));
                w.clear();
            }
        } else {
            w += c;
        }
    }
    return out;
}

std::filesystem::path defaultConfigPath() {
    return std::filesystem::path(IMAGEBUILD_SYSCONFDIR) / "imagebuild" / "imagebuild.conf";
}

Config loadConfig(const std::filesystem::path& path) {
    std::optional<std::string> text;
    try {
        text = readFile(path);
    } catch (const std::exception& e) {
        throw ConfigError(fmt::format("{}: {}", path.string(), e.what()));
    }
    if (!text) {
        throw ConfigError(fmt::format("{}: no such file", path.string()));
    }
    return parseConfig(*text, path.string());
}

std::string findProgram(const std::string& name) {
    if (name.empty()) {
        return {};
    }
    if (name.front() == '/') {
        return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
    }
    if (name.find('/') != std::string::npos) {
        return {};
    }
    for (const char* dir :
         {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
        auto candidate = std::string(dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return {};
}

std::vector<std::string> availableTypes(const Config& config) {
    std::vector<std::string> out;
    for (const auto& [name, type] : config.types) {
        bool ok = std::all_of(type.tools.begin(), type.tools.end(),
                              [](const std::string& t) { return !findProgram(t).empty(); });
        if (ok) {
            out.push_back(name);
        }
    }
    return out;
}

}  // namespace imagebuild
