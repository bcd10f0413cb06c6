#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "common/unique_fd.hpp"

namespace imagebuild {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

void writeAll(int fd, std::string_view content, const std::filesystem::path& path) {
    while (!content.empty()) {
        ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("cannot write", path);
        }
        content.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace

void fsyncDirectory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) < 0) {
        fail("cannot sync directory", dir);
    }
}

namespace {

void writeAtomic(const std::filesystem::path& path, unsigned mode, Sync sync,
                 const std::function<void(int, const std::filesystem::path&)>& write) {
    auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    std::string temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
    UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd) {
        fail("cannot create temporary file for", path);
    }
    try {
        if (::fchmod(fd.get(), mode) < 0) {
            fail("cannot chmod", temp);
        }
        write(fd.get(), temp);
        if (sync != Sync::kNone && ::fsync(fd.get()) < 0) {
            fail("cannot sync", temp);
        }
        if (::close(fd.release()) < 0) {
            fail("cannot close", temp);
        }
        if (::rename(temp.c_str(), path.c_str()) < 0) {
            fail("cannot rename onto", path);
        }
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    if (sync == Sync::kFileAndDirectory) {
        fsyncDirectory(dir);
    }
}

}  // namespace

void writeFileAtomic(const std::filesystem::path& path, std::string_view content, unsigned mode,
                     Sync sync) {
    writeAtomic(path, mode, sync,
                [&](int fd, const std::filesystem::path& temp) { writeAll(fd, content, temp); });
}

void writeFileAtomicWith(const std::filesystem::path& path, unsigned mode,
                         const std::function<void(int, const std::filesystem::path&)>& write) {
    writeAtomic(path, mode, Sync::kFileAndDirectory, write);
}

void writeAllToFd(int fd, std::string_view content, const std::filesystem::path& path) {
    writeAll(fd, content, path);
}

std::optional<std::string> readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path)) {
            return std::nullopt;
        }
        throw std::system_error(errno, std::generic_category(), "cannot read " + path.string());
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace imagebuild
