// Writing a file so that a reader sees either the old content or the new,
// never half of it, even across a crash: temp file in the same directory,
// fsync, rename over the target, fsync the directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace imagebuild {

// Throws std::system_error (naming the path) on any failure; the temp file
// is removed then, and the target is untouched.
void writeFileAtomic(const std::filesystem::path& path, std::string_view content,
                     unsigned mode = 0644);

// The whole file, or nullopt if it does not exist. Other errors throw.
std::optional<std::string> readFile(const std::filesystem::path& path);

}  // namespace imagebuild
