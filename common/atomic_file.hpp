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

// How much of a write must be on disk before writeFileAtomic returns. The
// replacement is atomic in every case; the cheaper ones are for callers
// that sync the directory themselves once for several files (fsyncDirectory)
// or that can lose the newest version after a power cut.
enum class Sync {
    kFileAndDirectory,  // content and rename durable
    kFile,              // content durable; the rename may be lost
    kNone,              // neither: the old or the new version survives
};

// Throws std::system_error (naming the path) on any failure; the temp file
// is removed then, and the target is untouched.
void writeFileAtomic(const std::filesystem::path& path, std::string_view content,
                     unsigned mode = 0644, Sync sync = Sync::kFileAndDirectory);

// fsync(2) of a directory, making renames and creations in it durable.
void fsyncDirectory(const std::filesystem::path& dir);

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
