// Writing a file so that a reader sees either the old content or the new,
// never half of it, even across a crash: temp file in the same directory,
// fsync, rename over the target, fsync the directory.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace imagebuild {

// Throws std::system_error (naming the path) on any failure; the temp file
// is removed then, and the target is untouched.
void writeFileAtomic(const std::filesystem::path& path, std::string_view content,
                     unsigned mode = 0644);

// The same, for content that is produced while it is written: write(fd,
// temp path) fills the temporary file; whatever it throws leaves the target
// untouched and the temporary file removed.
void writeFileAtomicWith(const std::filesystem::path& path, unsigned mode,
                         const std::function<void(int, const std::filesystem::path&)>& write);

// write(2) until all of content is written (EINTR and short writes handled);
// throws std::system_error naming path.
void writeAllToFd(int fd, std::string_view content, const std::filesystem::path& path);

// The whole file, or nullopt if it does not exist. Other errors throw.
std::optional<std::string> readFile(const std::filesystem::path& path);

}  // namespace imagebuild
