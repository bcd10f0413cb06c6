#include "ctl/legacy_config.hpp"

#include <fmt/format.h>
#include <ini.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "common/side_repos.hpp"
#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

namespace {

constexpr const char* kDefaultSection = "DEFAULT";
const std::vector<std::string> kLegacyTypes{"boot", "dvd", "live"};

struct Entry {
    std::string section;
    std::string key;  // lower-cased, as ConfigParser does
    std::string value;
};

int collect(void* user, const char* section, const char* name, const char* value) {
    std::string key(name);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static_cast<std::vector<Entry>*>(user)->push_back({section, key, value});
    return 1;
}

bool isSet(const std::string& value) {
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return !(v.empty() || v == "0" || v == "false" || v == "no" || v == "off");
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> splitAddresses(const std::string& value) {
    std::vector<std::string> out;
    std::string current;
    for (char c : value + ",") {
        if (c == ',' || c == ';' || std::isspace(static_cast<unsigned char>(c))) {
            if (!current.empty()) {
                out.push_back(current);
            }
            current.clear();
        } else {
            current += c;
        }
    }
    return out;
}

// What the old service did with a key that imagebuild does not take, and why.
enum class Fate { kWarn, kRefuseIfSet };
struct Unhonoured {
    Fate fate;
    const char* why;
};

const std::map<std::string, Unhonoured>& unhonouredKeys() {
    static const std::map<std::string, Unhonoured> keys{
        {"staging",
         {Fate::kWarn,
          "artifacts stay in the build host's staging area; fetch them with "
          "`imagebuildctl artifacts ID --download DIR`"}},
        {"tmpdir", {Fate::kWarn, "the build host chooses its own directories"}},
        {"cachedir", {Fate::kWarn, "the build host chooses its own directories"}},
        {"workdir", {Fate::kWarn, "the build host chooses its own directories"}},
        {"outdir", {Fate::kWarn, "the build host chooses its own directories"}},
        {"destdir", {Fate::kWarn, "the build host chooses its own directories"}},
        {"logfile", {Fate::kWarn, "the log is in the journal: `imagebuildctl log ID`"}},
        {"proxy", {Fate::kWarn, "the build host's own network settings apply"}},
        {"bugurl", {Fate::kWarn, "the host's image type sets it"}},
        {"force", {Fate::kWarn, "every build has a fresh output directory"}},
        {"nosource", {Fate::kWarn, "source packages are never included"}},
        {"nvr",
         {Fate::kRefuseIfSet,
          "extra packages from Koji builds are not fetched; download them and give "
          "each with --rpm FILE (and the package in the kickstart's %packages)"}},
        {"bid",
         {Fate::kRefuseIfSet,
          "extra packages from Koji build ids are not fetched; download them and give "
          "each with --rpm FILE (and the package in the kickstart's %packages)"}},
        {"sourceisos", {Fate::kRefuseIfSet, "source ISOs are not built"}},
    };
    return keys;
}

class Mapper {
public:
    explicit Mapper(std::string fileName) : file_(std::move(fileName)) {}

    LegacyRequest run(const std::vector<Entry>& entries) {
        selectType(entries);
        for (const auto& e : entries) {
            if (e.section == kDefaultSection || e.section == type_) {
                mapKey(e);
            } else if (std::find(kLegacyTypes.begin(), kLegacyTypes.end(), e.section) !=
                       kLegacyTypes.end()) {
                noteIgnoredSection(e.section);
            } else {
                error(e, "unknown section; expected [DEFAULT], [boot], [dvd] or [live]");
            }
        }
        checkRequired();
        if (!errors_.empty()) {
            throw CtlError(kExitUsage, fmt::format("{}", fmt::join(errors_, "\n")));
        }
        return std::move(out_);
    }

private:
    void selectType(const std::vector<Entry>& entries) {
        for (const auto& e : entries) {
            if (e.section == kDefaultSection && e.key == "type") {
                type_ = e.value;
            }
        }
        if (type_.empty()) {
            errors_.push_back(
                fmt::format("{}: [DEFAULT] type: missing; expected boot, dvd or live", file_));
        } else if (std::find(kLegacyTypes.begin(), kLegacyTypes.end(), type_) ==
                   kLegacyTypes.end()) {
            errors_.push_back(
                fmt::format("{}: [DEFAULT] type={}: unknown image type; expected boot, dvd or live",
                            file_, type_));
            type_.clear();
        }
        out_.spec.type = type_;
    }

    void mapKey(const Entry& e) {
        if (e.key == "type") {
            if (e.section != kDefaultSection && e.value != type_) {
                error(e, fmt::format("conflicts with [DEFAULT] type={}", type_));
            }
        } else if (e.key == "arch") {
            out_.spec.arch = e.value;
        } else if (e.key == "release" || e.key == "releasever") {
            setRelease(e);
        } else if (e.key == "version") {
            version_ = e;
        } else if (e.key == "product" || e.key == "name") {
            setName(e);
        } else if (e.key == "label" || e.key == "title" || e.key == "flavor") {
            out_.spec.labels[e.key] = e.value;
        } else if (e.key == "email") {
            auto addresses = splitAddresses(e.value);
            out_.spec.notify.insert(out_.spec.notify.end(), addresses.begin(), addresses.end());
        } else if (e.key == "config") {
            setKickstart(e);
        } else if (e.key == "stage") {
            if (e.value != "all" && !e.value.empty()) {
                error(e, "only complete composes are built (stage=all)");
            }
        } else if (e.key == "updates" || e.key == "updates-testing") {
            (e.key == "updates" ? out_.spec.updates : out_.spec.updatesTesting) = isSet(e.value);
        } else if (endsWith(e.key, "_url")) {
            mapRepo(e);
        } else if (endsWith(e.key, "_mirror")) {
            if (!e.value.empty()) {
                error(e, "mirror lists are not supported; give the repository's base URL as " +
                             e.key.substr(0, e.key.size() - 7) + "_url");
            }
        } else {
            mapUnhonoured(e);
        }
    }

    // NAME_url = URL: a repository named NAME (--repo NAME=URL).
    void mapRepo(const Entry& e) {
        if (e.value.empty()) {
            return;
        }
        auto name = e.key.substr(0, e.key.size() - 4);
        if (auto problem = repoNameProblem(name); !problem.empty()) {
            error(e, "the repository name " + problem);
        } else if (auto urlProblem = repoUrlProblem(e.value); !urlProblem.empty()) {
            error(e, "the URL " + urlProblem);
        } else {
            out_.spec.repos[name] = e.value;
        }
    }

    void mapUnhonoured(const Entry& e) {
        auto it = unhonouredKeys().find(e.key);
        if (it == unhonouredKeys().end()) {
            error(e,
                  "unknown key; imagebuild cannot honour it (see imagebuildctl(1), LEGACY "
                  "REQUEST FILES)");
        } else if (it->second.fate == Fate::kRefuseIfSet) {
            if (isSet(e.value)) {
                error(e, it->second.why);
            }
        } else if (!e.value.empty()) {
            out_.warnings.push_back(
                fmt::format("{}: [{}] {}: ignored: {}", file_, e.section, e.key, it->second.why));
        }
    }

    void setRelease(const Entry& e) {
        if (!out_.spec.release.empty() && e.value != out_.spec.release) {
            error(e, fmt::format("conflicts with {}={}", releaseFrom_, out_.spec.release));
            return;
        }
        out_.spec.release = e.value;
        releaseFrom_ = fmt::format("[{}] {}", e.section, e.key);
    }

    // The type's own section wins over [DEFAULT], as in ConfigParser; two
    // different names in one section are an error.
    void setName(const Entry& e) {
        bool fromDefault = e.section == kDefaultSection;
        auto& name = out_.spec.name;
        if (!name.empty() && name != e.value) {
            if (fromDefault && !nameFromDefault_) {
                return;
            }
            if (fromDefault == nameFromDefault_) {
                error(e, fmt::format("conflicts with {}={}", nameFrom_, name));
                return;
            }
        }
        name = e.value;
        nameFromDefault_ = fromDefault;
        nameFrom_ = fmt::format("[{}] {}", e.section, e.key);
    }

    void setKickstart(const Entry& e) {
        if (e.value.find("://") != std::string::npos) {
            error(e, "kickstarts by URL are not supported; download it and give its path");
            return;
        }
        std::filesystem::path path(e.value);
        if (path.is_relative()) {
            path = std::filesystem::path(file_).parent_path() / path;
        }
        out_.kickstartPath = path.lexically_normal().string();
    }

    void noteIgnoredSection(const std::string& section) {
        auto note =
            fmt::format("{}: [{}]: section ignored: the request is type={}", file_, section, type_);
        if (std::find(out_.warnings.begin(), out_.warnings.end(), note) == out_.warnings.end()) {
            out_.warnings.push_back(note);
        }
    }

    void checkRequired() {
        if (version_ && version_->value != out_.spec.release) {
            error(*version_, fmt::format("differs from release {}; imagebuild builds the "
                                         "release's own version",
                                         out_.spec.release));
        }
        auto missing = [this](const std::string& what, const std::string& key, const char* hint) {
            if (what.empty() && !type_.empty()) {
                errors_.push_back(fmt::format("{}: {}: missing; {}", file_, key, hint));
            }
        };
        missing(out_.spec.arch, "[DEFAULT] arch", "e.g. arch=x86_64");
        missing(out_.spec.release, fmt::format("[{}] release", type_), "e.g. release=39");
        missing(out_.kickstartPath, fmt::format("[{}] config", type_),
                "the path of the kickstart file");
    }

    void error(const Entry& e, const std::string& what) {
        errors_.push_back(
            fmt::format("{}: [{}] {}={}: {}", file_, e.section, e.key, e.value, what));
    }

    std::string file_;
    std::string type_;
    std::string releaseFrom_;
    std::string nameFrom_;
    bool nameFromDefault_ = false;
    std::optional<Entry> version_;
    std::vector<std::string> errors_;
    LegacyRequest out_;
};

}  // namespace

LegacyRequest mapLegacyConfig(const std::string& text, const std::string& fileName) {
    std::vector<Entry> entries;
    int line = ini_parse_string(text.c_str(), collect, &entries);
    if (line != 0) {
        throw CtlError(kExitUsage, fmt::format("{}:{}: not a valid INI line", fileName, line));
    }
    return Mapper(fileName).run(entries);
}

LegacyRequest loadLegacyConfig(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw CtlError(kExitUsage, fmt::format("{}: cannot read the request file: {}", path,
                                               std::strerror(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return mapLegacyConfig(text.str(), path);
}

}  // namespace imagebuild::ctl
