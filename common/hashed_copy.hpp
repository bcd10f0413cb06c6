// Copying an artifact into a staging area: the bytes are hashed as they pass
// (read once), and the copy appears whole or not at all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/build_info.hpp"

namespace imagebuild {

struct FileDigest {
    std::uint64_t size = 0;
    std::string sha256;
};

// Copies source to destination (temporary name in the destination's
// directory, fsync, rename) and returns the size and SHA-256 of what was
// copied. Throws std::system_error naming the file on any failure.
FileDigest copyFileHashing(const std::filesystem::path& source,
                           const std::filesystem::path& destination);

// The size and SHA-256 of a file, read once.
FileDigest hashFile(const std::filesystem::path& path);

// A name that can stand in SHA256SUMS and in a URL path segment: no '/',
// no control characters, not "." or "..", at most 255 bytes.
bool isSafeArtifactName(std::string_view name);

// SHA256SUMS as `sha256sum -c` reads it: "<hex>  <name>\n" per artifact.
std::string formatSha256Sums(const std::vector<Artifact>& artifacts);

}  // namespace imagebuild
