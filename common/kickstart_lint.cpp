#include "common/kickstart_lint.hpp"

#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "common/kickstart_sections.hpp"
#include "common/kickstart_text.hpp"

namespace imagebuild::kickstart {

std::string Warning::str() const {
    return line ? fmt::format("{}:{}: {}", file, line, message)
                : fmt::format("{}: {}", file, message);
}

namespace {

// Commands that pykickstart keeps once: a second one silently replaces the
// first. Aliases of one command map to the same key.
std::optional<std::string_view> singleUseKey(std::string_view command) {
    static const std::map<std::string_view, std::string_view> kKeys = {
        {"lang", "lang"},
        {"timezone", "timezone"},
        {"rootpw", "rootpw"},
        {"bootloader", "bootloader"},
        {"keyboard", "keyboard"},
        {"selinux", "selinux"},
        {"firewall", "firewall"},
        {"auth", "authconfig"},
        {"authconfig", "authconfig"},
        {"authselect", "authselect"},
        {"autopart", "autopart"},
        {"clearpart", "clearpart"},
        {"zerombr", "zerombr"},
        {"xconfig", "xconfig"},
        {"skipx", "skipx"},
        {"firstboot", "firstboot"},
        {"services", "services"},
        {"text", "display mode (text/graphical/cmdline)"},
        {"graphical", "display mode (text/graphical/cmdline)"},
        {"cmdline", "display mode (text/graphical/cmdline)"},
        {"reboot", "reboot/poweroff/shutdown/halt"},
        {"poweroff", "reboot/poweroff/shutdown/halt"},
        {"shutdown", "reboot/poweroff/shutdown/halt"},
        {"halt", "reboot/poweroff/shutdown/halt"},
        {"url", "installation source"},
        {"cdrom", "installation source"},
        {"harddrive", "installation source"},
        {"nfs", "installation source"},
        {"liveimg", "installation source"},
        {"ostreesetup", "installation source"},
    };
    auto it = kKeys.find(command);
    if (it == kKeys.end()) {
        return std::nullopt;
    }
    return it->second;
}

class Linter {
public:
    explicit Linter(const FlattenResult& flat) : flat_(flat), sections_(knownSections()) {}
    std::vector<Warning> run();

private:
    void warn(LineOrigin at, std::string message) {
        warnings_.push_back(Warning{flat_.files[at.file].path, at.line, std::move(message)});
    }
    std::string where(LineOrigin at) const {
        return fmt::format("{}:{}", flat_.files[at.file].path, at.line);
    }
    void command(const std::vector<std::string>& args, LineOrigin at);
    void header(const std::string& name, LineOrigin at);
    std::size_t section(const std::vector<std::string_view>& lines, std::size_t i);

    const FlattenResult& flat_;
    std::set<std::string, std::less<>> sections_;
    std::map<std::string_view, LineOrigin> seen_;
    std::string open_;
    LineOrigin openAt_;
    bool packages_ = false;
    std::vector<Warning> warnings_;
};

void Linter::command(const std::vector<std::string>& args, LineOrigin at) {
    auto key = singleUseKey(args[0]);
    if (!key) {
        return;
    }
    auto [it, inserted] = seen_.emplace(*key, at);
    if (!inserted) {
        warn(at, fmt::format("'{}' repeats the {} command of {}; pykickstart keeps only the last",
                             args[0], *key, where(it->second)));
        it->second = at;
    }
}

void Linter::header(const std::string& name, LineOrigin at) {
    if (name == "%end") {
        warn(at, "%end without a section to end");
    } else if (sections_.count(name) == 0) {
        std::string known;
        for (const auto& s : knownSections()) {
            known += (known.empty() ? "" : ", ") + s;
        }
        warn(at, fmt::format("unknown section {} (known: {})", name, known));
    }
    sections_.insert(name);
    packages_ = packages_ || name == "%packages";
    open_ = name;
    openAt_ = at;
}

// The body of the open section; returns the index after it.
std::size_t Linter::section(const std::vector<std::string_view>& lines, std::size_t i) {
    for (; i < lines.size(); ++i) {
        std::string_view word = firstWord(lines[i]);
        if (word == "%end") {
            open_.clear();
            return i + 1;
        }
        if (sections_.count(word) != 0) {
            warn(openAt_, fmt::format("{} has no %end before {} at {}", open_, std::string(word),
                                      where(flat_.origins[i])));
            open_.clear();
            return i;
        }
    }
    warn(openAt_, fmt::format("{} has no %end before the end of the kickstart", open_));
    open_.clear();
    return i;
}

std::vector<Warning> Linter::run() {
    auto lines = splitLines(flat_.text);
    std::size_t i = 0;
    while (i < lines.size()) {
        std::string_view line = lines[i];
        LineOrigin at = flat_.origins[i];
        ++i;
        if (isBlankOrComment(line)) {
            continue;
        }
        std::vector<std::string> args;
        try {
            args = shlexSplit(line, true);
        } catch (const std::invalid_argument& e) {
            warn(at, fmt::format("pykickstart cannot split this line: {}", e.what()));
            continue;
        }
        if (args.empty() || args[0].empty()) {
            continue;
        }
        if (args[0][0] != '%') {
            command(args, at);
            continue;
        }
        header(args[0], at);
        i = section(lines, i);
    }
    if (!packages_ && !flat_.files.empty()) {
        warnings_.push_back(Warning{flat_.files[0].path, 0, "no %packages section"});
    }
    return std::move(warnings_);
}

}  // namespace

std::vector<Warning> lint(const FlattenResult& flat) {
    return Linter(flat).run();
}

}  // namespace imagebuild::kickstart
