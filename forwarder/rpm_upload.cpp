#include "forwarder/rpm_upload.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/unique_fd.hpp"

namespace imagebuild::forwarder {

namespace {

void writeAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw std::system_error(errno, std::generic_category(), "cannot write an uploaded RPM");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

sdbus::UnixFd anonymousFileWith(std::string_view bytes, const std::string& name) {
    // The kernel takes a label of at most 249 bytes.
    auto label = "imagebuild-upload:" + name.substr(0, 200);
    UniqueFd fd(::memfd_create(label.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot make an anonymous file for an uploaded RPM");
    }
    writeAll(fd.get(), bytes);
    // Sealed: the agent reads what was uploaded, and a reader of the fd
    // cannot change it under the others.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) <
        0) {
        throw std::system_error(errno, std::generic_category(), "cannot seal an uploaded RPM");
    }
    return sdbus::UnixFd(fd.release(), sdbus::adopt_fd);
}

}  // namespace imagebuild::forwarder
