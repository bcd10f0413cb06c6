#include "ctl/atomic_file.hpp"

#include <system_error>

#include "common/atomic_file.hpp"
#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

void writeFileAtomically(
    const std::string& path,
    const std::function<void(const std::function<void(std::string_view)>&)>& produce) {
    try {
        writeFileAtomicWith(path, 0644, [&](int fd, const std::filesystem::path& temp) {
            produce([&](std::string_view chunk) { writeAllToFd(fd, chunk, temp); });
        });
    } catch (const std::system_error& e) {
        throw CtlError(kExitFailure, e.what());  // it names the file
    }
}

}  // namespace imagebuild::ctl
