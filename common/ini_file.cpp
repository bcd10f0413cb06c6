#include "common/ini_file.hpp"

#include <fmt/format.h>
#include <ini.h>

#include <algorithm>
#include <cstring>

#include "common/config_file.hpp"

namespace imagebuild {

namespace {

struct ParseState {
    std::string_view text;
    size_t pos = 0;
    int line = 0;          // line the parser is looking at
    int sectionLine = 0;   // line of the last [section] header
    bool midLine = false;  // the previous chunk did not end the line
    std::string fileName;
    const std::set<std::string>* listKeys = nullptr;
    IniFile raw;
    std::string error;  // first semantic error, "file:line: ..."
};

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) {
        return {};
    }
    auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

// ini_reader: hands inih one line at a time and counts lines, because the
// Debian build of inih does not pass line numbers to the handler.
char* readLine(char* buffer, int size, void* stream) {
    auto* st = static_cast<ParseState*>(stream);
    if (st->pos >= st->text.size()) {
        return nullptr;
    }
    if (!st->midLine) {
        ++st->line;
    }
    auto rest = st->text.substr(st->pos);
    size_t n = std::min<size_t>(static_cast<size_t>(size - 1), rest.size());
    auto nl = rest.substr(0, n).find('\n');
    if (nl != std::string_view::npos) {
        n = nl + 1;
    }
    std::memcpy(buffer, rest.data(), n);
    buffer[n] = '\0';
    st->pos += n;
    st->midLine = buffer[n - 1] != '\n' && st->pos < st->text.size();
    if (st->midLine && st->error.empty()) {
        st->error = fmt::format(
            "{}:{}: line too long (at most {} characters; continue a value "
            "on an indented next line)",
            st->fileName, st->line, size - 2);
    }
    if (!st->midLine) {
        auto header = trim(std::string_view(buffer, n));
        if (!header.empty() && header.front() == '[') {
            st->sectionLine = st->line;
        }
    }
    return buffer;
}

int onValue(void* user, const char* section, const char* name, const char* value) {
    auto* st = static_cast<ParseState*>(user);
    std::string sec = section;
    if (!st->raw.sectionLines.count(sec)) {
        st->raw.sectionLines[sec] = st->sectionLine;
        st->raw.sectionOrder.push_back(sec);
    }
    auto& entry = st->raw.sections[sec];
    auto it = entry.find(name);
    if (it == entry.end()) {
        entry[name] = IniValue{value, st->line};
    } else if (st->listKeys->count(name)) {
        it->second.value += std::string(" ") + value;
    } else if (st->error.empty()) {
        st->error = fmt::format("{}:{}: '{}' is set twice in [{}] (first at line {})", st->fileName,
                                st->line, name, sec, it->second.line);
    }
    return 1;
}

}  // namespace

IniFile parseIniFile(std::string_view text, const std::string& fileName,
                     const std::set<std::string>& listKeys) {
    ParseState st;
    st.text = text;
    st.fileName = fileName;
    st.listKeys = &listKeys;
    int rc = ini_parse_stream(readLine, &st, onValue, &st);
    // An overlong line also upsets inih's own count; report it first.
    if (!st.error.empty()) {
        throw ConfigError(st.error);
    }
    if (rc > 0) {
        throw ConfigError(fmt::format("{}:{}: not a [section] or key = value line", fileName, rc));
    }
    if (rc != 0) {
        throw ConfigError(fmt::format("{}: cannot be parsed", fileName));
    }
    st.raw.lineCount = st.line;
    return std::move(st.raw);
}

}  // namespace imagebuild
