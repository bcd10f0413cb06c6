#include "common/hashed_copy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/sha256.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild {

namespace {

constexpr std::size_t kBufferSize = 1 << 20;

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

UniqueFd openForReading(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        fail("cannot open", path);
    }
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    return fd;
}

// Reads fd to its end, handing each chunk to sink; returns the byte count.
template <typename Sink>
std::uint64_t readChunks(int fd, const std::filesystem::path& path, Sink&& sink) {
    std::vector<char> buffer(kBufferSize);
    std::uint64_t total = 0;
    for (;;) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("cannot read", path);
        }
        if (n == 0) {
            return total;
        }
        std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
        sink(chunk);
        total += chunk.size();
    }
}

}  // namespace

FileDigest copyFileHashing(const std::filesystem::path& source,
                           const std::filesystem::path& destination) {
    UniqueFd in = openForReading(source);
    FileDigest digest;
    writeFileAtomicWith(destination, 0644, [&](int out, const std::filesystem::path& temp) {
        Sha256 hash;
        digest.size = readChunks(in.get(), source, [&](std::string_view chunk) {
            hash.update(chunk);
            writeAllToFd(out, chunk, temp);
        });
        digest.sha256 = hash.finishHex();
    });
    return digest;
}

FileDigest hashFile(const std::filesystem::path& path) {
    UniqueFd in = openForReading(path);
    Sha256 hash;
    FileDigest digest;
    digest.size = readChunks(in.get(), path, [&](std::string_view chunk) { hash.update(chunk); });
    digest.sha256 = hash.finishHex();
    return digest;
}

bool isSafeArtifactName(std::string_view name) {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           std::none_of(name.begin(), name.end(), [](char c) {
               return c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
           });
}

std::string formatSha256Sums(const std::vector<Artifact>& artifacts) {
    std::string sums;
    for (const auto& artifact : artifacts) {
        sums += artifact.sha256 + "  " + artifact.name + "\n";
    }
    return sums;
}

}  // namespace imagebuild
