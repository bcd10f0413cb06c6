#include "common/kickstart_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include <fmt/format.h>

#include "common/kickstart_paths.hpp"

namespace imagebuild::kickstart {

namespace {

// Owns one file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Fd& operator=(Fd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_ = -1;
};

std::string identityOf(const struct stat& st) {
    return fmt::format("{}:{}", static_cast<unsigned long long>(st.st_dev),
                       static_cast<unsigned long long>(st.st_ino));
}

[[noreturn]] void throwErrno(const std::string& path, int err) {
    if (err == ENOENT || err == ENOTDIR) {
        throw SourceError(SourceErrorKind::NotFound, fmt::format("'{}': no such file", path));
    }
    throw SourceError(SourceErrorKind::Io, fmt::format("'{}': {}", path, std::strerror(err)));
}

void checkType(const std::string& path, const struct stat& st) {
    if (S_ISDIR(st.st_mode)) {
        throw SourceError(SourceErrorKind::IsDirectory, fmt::format("'{}' is a directory", path));
    }
    if (!S_ISREG(st.st_mode)) {
        throw SourceError(SourceErrorKind::NotRegular,
                          fmt::format("'{}' is not a regular file", path));
    }
}

// Reads an open regular file up to maxBytes; never blocks on a FIFO because
// only regular files get here.
SourceFile readOpen(const std::string& path, int fd, std::size_t maxBytes) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throwErrno(path, errno);
    }
    checkType(path, st);
    if (static_cast<std::uint64_t>(st.st_size) > maxBytes) {
        throw SourceError(SourceErrorKind::TooLarge,
                          fmt::format("'{}' is larger than {} bytes", path, maxBytes));
    }
    SourceFile file;
    file.identity = identityOf(st);
    file.content.resize(static_cast<std::size_t>(st.st_size));
    std::size_t have = 0;
    for (;;) {
        if (have == file.content.size()) {
            // The size may have grown (or lied, as in /proc): keep reading.
            if (have > maxBytes) {
                throw SourceError(SourceErrorKind::TooLarge,
                                  fmt::format("'{}' is larger than {} bytes", path, maxBytes));
            }
            file.content.resize(have + 4096);
        }
        ssize_t n = ::read(fd, file.content.data() + have, file.content.size() - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throwErrno(path, errno);
        }
        if (n == 0) {
            break;
        }
        have += static_cast<std::size_t>(n);
    }
    file.content.resize(have);
    if (have > maxBytes) {
        throw SourceError(SourceErrorKind::TooLarge,
                          fmt::format("'{}' is larger than {} bytes", path, maxBytes));
    }
    return file;
}

std::deque<std::string> components(const std::string& path) {
    std::deque<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string::npos) {
            slash = path.size();
        }
        if (slash > start) {
            parts.emplace_back(path.substr(start, slash - start));
        }
        start = slash + 1;
    }
    return parts;
}

// The last component of a bundle walk: its parent directory and name.
struct Walked {
    Fd parent;  // -1: the bundle root itself
    std::string name;
    struct stat st {};
    bool found = false;
};

constexpr int kMaxSymlinks = 40;  // as the kernel's ELOOP

// Resolves path inside the directory rootFd, following symlinks only while
// they stay inside. Relative symlink targets are spliced into the walk;
// absolute ones and '..' above the root are OutsideRoot errors.
Walked walk(int rootFd, const std::string& path) {
    std::vector<Fd> dirs;  // below the root
    std::deque<std::string> pending = components(path);
    int links = 0;
    auto top = [&] {
        return dirs.empty() ? rootFd : dirs.back().get();
    };
    while (!pending.empty()) {
        std::string name = std::move(pending.front());
        pending.pop_front();
        if (name == ".") {
            continue;
        }
        if (name == "..") {
            if (dirs.empty()) {
                throw SourceError(SourceErrorKind::OutsideRoot,
                                  fmt::format("'{}' leads outside the bundle root", path));
            }
            dirs.pop_back();
            continue;
        }
        struct stat st {};
        if (::fstatat(top(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                return Walked{};
            }
            throwErrno(path, errno);
        }
        if (S_ISLNK(st.st_mode)) {
            if (++links > kMaxSymlinks) {
                throw SourceError(SourceErrorKind::Io,
                                  fmt::format("'{}': too many levels of symbolic links", path));
            }
            std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlinkat(top(), name.c_str(), target.data(), target.size());
            if (n < 0) {
                throwErrno(path, errno);
            }
            target.resize(static_cast<std::size_t>(n));
            if (target.empty() || target.front() == '/') {
                throw SourceError(
                    SourceErrorKind::OutsideRoot,
                    fmt::format("'{}': symlink '{}' -> '{}' leads outside the bundle root", path,
                                name, target));
            }
            auto parts = components(target);
            pending.insert(pending.begin(), parts.begin(), parts.end());
            continue;
        }
        if (pending.empty()) {
            Walked last;
            last.parent =
                dirs.empty() ? Fd(::fcntl(rootFd, F_DUPFD_CLOEXEC, 0)) : std::move(dirs.back());
            last.name = name;
            last.st = st;
            last.found = true;
            return last;
        }
        if (!S_ISDIR(st.st_mode)) {
            return Walked{};
        }
        int fd = ::openat(top(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            throwErrno(path, errno);
        }
        dirs.emplace_back(fd);
    }
    // The path names the root (or a directory reached through '..'): a directory.
    Walked self;
    self.found = true;
    self.st.st_mode = S_IFDIR;
    return self;
}

}  // namespace

bool DiskSource::exists(const std::string& path) const {
    struct stat st {};
    return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

SourceFile DiskSource::read(const std::string& path, std::size_t maxBytes) const {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throwErrno(path, errno);
    }
    // Check the type before open(): opening a FIFO or a device can block or
    // have side effects.
    checkType(path, st);
    Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        throwErrno(path, errno);
    }
    return readOpen(path, fd.get(), maxBytes);
}

BundleSource::BundleSource(const std::filesystem::path& root) {
    rootFd_ = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootFd_ < 0) {
        int err = errno;
        throw SourceError(err == ENOENT ? SourceErrorKind::NotFound : SourceErrorKind::Io,
                          fmt::format("bundle root '{}': {}", root.string(), std::strerror(err)));
    }
}

BundleSource::~BundleSource() {
    if (rootFd_ >= 0) {
        ::close(rootFd_);
    }
}

bool BundleSource::exists(const std::string& path) const {
    return walk(rootFd_, path).found;
}

SourceFile BundleSource::read(const std::string& path, std::size_t maxBytes) const {
    Walked w = walk(rootFd_, path);
    if (!w.found) {
        throwErrno(path, ENOENT);
    }
    checkType(path, w.st);
    Fd fd(::openat(w.parent.get(), w.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        throwErrno(path, errno);
    }
    return readOpen(path, fd.get(), maxBytes);
}

void MemorySource::add(const std::string& path, std::string content) {
    auto normalized = confinedPath(path);
    if (!normalized || *normalized == ".") {
        throw std::invalid_argument(fmt::format("'{}' cannot name a file in a file set", path));
    }
    files_[*normalized] = std::move(content);
}

bool MemorySource::isDirectory(const std::string& path) const {
    if (path.empty() || path == ".") {
        return true;
    }
    std::string prefix = path + "/";
    auto it = files_.lower_bound(prefix);
    return it != files_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

bool MemorySource::exists(const std::string& path) const {
    return files_.count(path) != 0 || isDirectory(path);
}

SourceFile MemorySource::read(const std::string& path, std::size_t maxBytes) const {
    auto it = files_.find(path);
    if (it == files_.end()) {
        if (isDirectory(path)) {
            throw SourceError(SourceErrorKind::IsDirectory,
                              fmt::format("'{}' is a directory", path));
        }
        throw SourceError(SourceErrorKind::NotFound, fmt::format("'{}': no such file", path));
    }
    if (it->second.size() > maxBytes) {
        throw SourceError(SourceErrorKind::TooLarge,
                          fmt::format("'{}' is larger than {} bytes", path, maxBytes));
    }
    return SourceFile{it->second, path};
}

}  // namespace imagebuild::kickstart
