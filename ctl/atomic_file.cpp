#include "ctl/atomic_file.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

namespace {

class TempFile {
public:
    explicit TempFile(const std::string& target) : name_(target + ".XXXXXX") {
        std::vector<char> pattern(name_.begin(), name_.end());
        pattern.push_back('\0');
        fd_ = mkstemp(pattern.data());
        if (fd_ < 0) {
            fail(target);
        }
        name_ = pattern.data();
    }
    ~TempFile() {
        if (fd_ >= 0) {
            close(fd_);
        }
        if (!committed_) {
            unlink(name_.c_str());
        }
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(std::string_view data) {
        while (!data.empty()) {
            auto n = ::write(fd_, data.data(), data.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                fail(name_);
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    void commit(const std::string& target) {
        if (fchmod(fd_, 0644) < 0 || fsync(fd_) < 0 || close(fd_) < 0) {
            fd_ = -1;
            fail(name_);
        }
        fd_ = -1;
        if (rename(name_.c_str(), target.c_str()) < 0) {
            fail(target);
        }
        committed_ = true;
    }

private:
    [[noreturn]] static void fail(const std::string& path) {
        throw CtlError(kExitFailure,
                       fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
    }

    std::string name_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace

void writeFileAtomically(
    const std::string& path,
    const std::function<void(const std::function<void(std::string_view)>&)>& produce) {
    TempFile file(path);
    produce([&file](std::string_view chunk) { file.write(chunk); });
    file.commit(path);
}

}  // namespace imagebuild::ctl
