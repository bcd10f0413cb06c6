// Text rules of pykickstart, in C++: how it decodes a file, where it breaks
// lines, what it calls whitespace and how shlex splits a line. The flattener
// must find directives exactly where pykickstart does, so these follow
// Python's str.splitlines(), str.isspace(), str.strip() and shlex.split()
// (POSIX mode), not the C locale.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace imagebuild::kickstart {

// A decoding problem; line is 1-based, in the file being decoded.
struct TextError : std::runtime_error {
    TextError(std::size_t line, const std::string& message)
        : std::runtime_error(message), line(line) {}
    std::size_t line;
};

// open(path, 'r').read() as pykickstart does it: strict UTF-8 (no overlong
// forms, no surrogates), universal newlines (\r\n and \r become \n). A NUL
// byte is refused too: no kickstart has one and it hides bugs downstream.
// Throws TextError naming the line.
std::string decodeKickstartText(std::string_view raw);

// str.splitlines(True): every line keeps its terminator. Breaks are \n, \v,
// \f, \x1c, \x1d, \x1e, U+0085, U+2028, U+2029 (\r is gone after decoding).
std::vector<std::string_view> splitLines(std::string_view text);
// Length of the line break at the end of line (0 when it has none).
std::size_t lineBreakLength(std::string_view line);

// Python's str.lstrip() / str.strip() with no argument (Unicode whitespace).
std::string_view lstripPy(std::string_view s);
std::string_view stripPy(std::string_view s);
// line.split()[0], or empty when the line is all whitespace.
std::string_view firstWord(std::string_view line);
// KickstartParser._isBlankOrComment: all whitespace, or '#' first.
bool isBlankOrComment(std::string_view line);

// shlex.split(line, comments=...) in POSIX mode. Throws std::invalid_argument
// with shlex's own words ("No closing quotation", "No escaped character").
std::vector<std::string> shlexSplit(std::string_view line, bool comments);

}  // namespace imagebuild::kickstart
