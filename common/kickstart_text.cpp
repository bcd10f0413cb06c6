#include "common/kickstart_text.hpp"

#include <cstdint>
#include <cstring>

#include <fmt/format.h>

namespace imagebuild::kickstart {

namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, 0 if invalid.
// Same acceptance as CPython's strict decoder.
std::size_t utf8Length(std::string_view s, std::size_t i, char32_t* cp) {
    auto b = [&](std::size_t k) {
        return static_cast<unsigned char>(s[i + k]);
    };
    auto cont = [&](std::size_t k) {
        return i + k < s.size() && (b(k) & 0xC0) == 0x80;
    };
    unsigned char c = b(0);
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF && cont(1)) {
        *cp = (char32_t(c & 0x1F) << 6) | (b(1) & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
        char32_t v = (char32_t(c & 0x0F) << 12) | (char32_t(b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) {
            return 0;
        }
        *cp = v;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
        char32_t v = (char32_t(c & 0x07) << 18) | (char32_t(b(1) & 0x3F) << 12) |
                     (char32_t(b(2) & 0x3F) << 6) | (b(3) & 0x3F);
        if (v < 0x10000 || v > 0x10FFFF) {
            return 0;
        }
        *cp = v;
        return 4;
    }
    return 0;
}

bool isAsciiBreak(unsigned char c) {
    return c == '\n' || c == '\v' || c == '\f' || c == 0x1c || c == 0x1d || c == 0x1e;
}

// Python's str.isspace() for one code point.
bool isSpaceCp(char32_t c) {
    if (c < 0x80) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    }
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Length of the whitespace code point at s[i], 0 if it is not whitespace.
// Input is already valid UTF-8.
std::size_t spaceAt(std::string_view s, std::size_t i) {
    char32_t cp = 0;
    std::size_t n = utf8Length(s, i, &cp);
    return (n != 0 && isSpaceCp(cp)) ? n : 0;
}

// Length of the whitespace code point that ends at s[end-1], 0 if none.
std::size_t spaceBefore(std::string_view s, std::size_t end) {
    std::size_t start = end - 1;
    while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
        --start;
    }
    std::size_t n = spaceAt(s, start);
    return start + n == end ? n : 0;
}

// The 1-based line of raw[offset], counting breaks as the decoded text will.
std::size_t lineNumberAt(std::string_view raw, std::size_t offset) {
    std::string_view before = raw.substr(0, offset);
    std::size_t line = 1;
    for (std::size_t i = 0; i < before.size(); ++i) {
        auto c = static_cast<unsigned char>(before[i]);
        bool crlf = c == '\r' && i + 1 < before.size() && before[i + 1] == '\n';
        if ((isAsciiBreak(c) || c == '\r') && !crlf) {
            ++line;
        } else if (before.substr(i, 2) == "\xC2\x85" || before.substr(i, 3) == "\xE2\x80\xA8" ||
                   before.substr(i, 3) == "\xE2\x80\xA9") {
            ++line;
        }
    }
    return line;
}

}  // namespace

std::string decodeKickstartText(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    std::size_t i = 0;
    while (i < raw.size()) {
        // Fast path: runs of printable ASCII are copied as they are.
        std::size_t run = i;
        while (run < raw.size()) {
            auto c = static_cast<unsigned char>(raw[run]);
            if (c >= 0x80 || c == '\r' || c == 0) {
                break;
            }
            ++run;
        }
        out.append(raw.data() + i, run - i);
        i = run;
        if (i == raw.size()) {
            break;
        }
        auto c = static_cast<unsigned char>(raw[i]);
        if (c == 0) {
            throw TextError(lineNumberAt(raw, i), "contains a NUL byte");
        }
        if (c == '\r') {
            out.push_back('\n');
            i += (i + 1 < raw.size() && raw[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        char32_t cp = 0;
        std::size_t n = utf8Length(raw, i, &cp);
        if (n == 0) {
            throw TextError(lineNumberAt(raw, i),
                            fmt::format("is not valid UTF-8 (byte 0x{:02x})", unsigned(c)));
        }
        out.append(raw.data() + i, n);
        i += n;
    }
    return out;
}

std::size_t lineBreakLength(std::string_view line) {
    if (line.empty()) {
        return 0;
    }
    if (isAsciiBreak(static_cast<unsigned char>(line.back()))) {
        return 1;
    }
    auto ends = [&](std::string_view tail) {
        return line.size() >= tail.size() && line.substr(line.size() - tail.size()) == tail;
    };
    if (ends("\xC2\x85")) {
        return 2;
    }
    if (ends("\xE2\x80\xA8") || ends("\xE2\x80\xA9")) {
        return 3;
    }
    return 0;
}

std::vector<std::string_view> splitLines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(text[i]);
        std::size_t brk = 0;
        if (c == '\n') {
            // Most lines end here: find the next candidate byte quickly.
            brk = 1;
        } else if (c < 0x20) {
            brk = isAsciiBreak(c) ? 1 : 0;
        } else if (c == 0xC2 && i + 1 < n && static_cast<unsigned char>(text[i + 1]) == 0x85) {
            brk = 2;
        } else if (c == 0xE2 && i + 2 < n && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(text[i + 2]) == 0xA8 ||
                    static_cast<unsigned char>(text[i + 2]) == 0xA9)) {
            brk = 3;
        }
        if (brk != 0) {
            i += brk;
            lines.push_back(text.substr(start, i - start));
            start = i;
        } else {
            ++i;
        }
    }
    if (start < n) {
        lines.push_back(text.substr(start));
    }
    return lines;
}

std::string_view lstripPy(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t n = spaceAt(s, i);
        if (n == 0) {
            break;
        }
        i += n;
    }
    return s.substr(i);
}

std::string_view stripPy(std::string_view s) {
    s = lstripPy(s);
    std::size_t end = s.size();
    while (end > 0) {
        std::size_t n = spaceBefore(s, end);
        if (n == 0) {
            break;
        }
        end -= n;
    }
    return s.substr(0, end);
}

std::string_view firstWord(std::string_view line) {
    std::string_view s = lstripPy(line);
    std::size_t i = 0;
    while (i < s.size() && spaceAt(s, i) == 0) {
        char32_t cp = 0;
        std::size_t n = utf8Length(s, i, &cp);
        i += n == 0 ? 1 : n;
    }
    return s.substr(0, i);
}

bool isBlankOrComment(std::string_view line) {
    std::string_view s = lstripPy(line);
    return s.empty() || s.front() == '#';
}

std::vector<std::string> shlexSplit(std::string_view line, bool comments) {
    // The states of Python's shlex.read_token, POSIX mode, whitespace_split.
    enum class State { Space, Word, Single, Double, Escape };
    auto isWs = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    };
    std::vector<std::string> tokens;
    std::string token;
    bool quoted = false;
    State state = State::Space;
    State escaped = State::Word;  // where an escape returns to
    auto finish = [&] {
        if (!token.empty() || quoted) {
            tokens.push_back(token);
        }
        token.clear();
        quoted = false;
    };
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        switch (state) {
            case State::Space:
            case State::Word:
                if (isWs(c)) {
                    finish();
                    state = State::Space;
                } else if (comments && c == '#') {
                    i = line.size();  // the rest of the line is a comment
                } else if (c == '\'') {
                    state = State::Single;
                } else if (c == '"') {
                    state = State::Double;
                } else if (c == '\\') {
                    escaped = State::Word;
                    state = State::Escape;
                } else {
                    token.push_back(c);
                    state = State::Word;
                }
                break;
            case State::Single:
                quoted = true;
                if (c == '\'') {
                    state = State::Word;
                } else {
                    token.push_back(c);
                }
                break;
            case State::Double:
                quoted = true;
                if (c == '"') {
                    state = State::Word;
                } else if (c == '\\') {
                    escaped = State::Double;
                    state = State::Escape;
                } else {
                    token.push_back(c);
                }
                break;
            case State::Escape:
                // Inside double quotes a backslash only escapes '"' and '\'.
                if (escaped == State::Double && c != '"' && c != '\\') {
                    token.push_back('\\');
                }
                token.push_back(c);
                state = escaped;
                break;
        }
    }
    if (state == State::Single || state == State::Double) {
        throw std::invalid_argument("No closing quotation");
    }
    if (state == State::Escape) {
        throw std::invalid_argument("No escaped character");
    }
    finish();
    return tokens;
}

}  // namespace imagebuild::kickstart
