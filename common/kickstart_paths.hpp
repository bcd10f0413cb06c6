// Path arithmetic of Python's posixpath, which pykickstart uses to find an
// included file, plus the bundle rule that a path stays inside its root.
// Lexical only: the file system is asked by a FileSource.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imagebuild::kickstart {

// os.path.join(a, b) for two components.
std::string joinPath(std::string_view dir, std::string_view name);
// os.path.dirname(path).
std::string dirName(std::string_view path);
// os.path.normpath(path).
std::string normPath(std::string_view path);
// A relative path normalized inside a root: "a/./b/../c" -> "a/c", "." for
// the root itself; nullopt when '..' would leave the root or it is absolute.
std::optional<std::string> confinedPath(std::string_view path);
// pykickstart.load._is_url: anything with "://" is fetched, not opened.
bool isUrl(std::string_view location);

}  // namespace imagebuild::kickstart
