#include "common/argv_template.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace imagebuild {

namespace {

std::vector<std::string> splitCommand(std::string_view command) {
    std::vector<std::string> out;
    std::string current;
    bool inElement = false;
    char quote = 0;
    for (char c : command) {
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
            } else {
                current += c;
            }
        } else if (c == '"' || c == '\'') {
            quote = c;
            inElement = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (inElement) {
                out.push_back(std::move(current));
                current.clear();
                inElement = false;
            }
        } else {
            current += c;
            inElement = true;
        }
    }
    if (quote != 0) {
        throw ArgvTemplateError(fmt::format("unclosed {} quote in command", quote));
    }
    if (inElement) {
        out.push_back(std::move(current));
    }
    return out;
}

// Calls onText/onPlaceholder for the pieces of one element.
template <typename Text, typename Placeholder>
void scanElement(const std::string& element, Text onText, Placeholder onPlaceholder) {
    size_t pos = 0;
    while (pos < element.size()) {
        size_t open = element.find('{', pos);
        if (open == std::string::npos) {
            onText(std::string_view(element).substr(pos));
            return;
        }
        size_t close = element.find('}', open);
        if (close == std::string::npos) {
            throw ArgvTemplateError(fmt::format("unclosed '{{' in \"{}\"", element));
        }
        onText(std::string_view(element).substr(pos, open - pos));
        onPlaceholder(element.substr(open + 1, close - open - 1));
        pos = close + 1;
    }
}

}  // namespace

const std::vector<std::string>& ArgvTemplate::placeholders() {
    static const std::vector<std::string> names = {"ks",      "outdir", "workdir", "arch",
                                                   "release", "id",     "name"};
    return names;
}

ArgvTemplate ArgvTemplate::parse(std::string_view command) {
    ArgvTemplate t;
    t.elements_ = splitCommand(command);
    if (t.elements_.empty()) {
        throw ArgvTemplateError("the command is empty");
    }
    for (const auto& element : t.elements_) {
        scanElement(
            element, [](std::string_view) {},
            [](const std::string& name) {
                const auto& known = placeholders();
                if (std::find(known.begin(), known.end(), name) == known.end()) {
                    throw ArgvTemplateError(fmt::format("unknown placeholder {{{}}}; known: {{{}}}",
                                                        name, fmt::join(known, "}, {")));
                }
            });
    }
    return t;
}

std::vector<std::string> ArgvTemplate::substitute(
    const std::map<std::string, std::string>& values) const {
    std::vector<std::string> argv;
    for (const auto& element : elements_) {
        std::string out;
        scanElement(
            element, [&out](std::string_view text) { out += text; },
            [&out, &values](const std::string& name) {
                auto it = values.find(name);
                if (it == values.end()) {
                    throw ArgvTemplateError(fmt::format("no value for {{{}}}", name));
                }
                out += it->second;
            });
        argv.push_back(std::move(out));
    }
    return argv;
}

}  // namespace imagebuild
