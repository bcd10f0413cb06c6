// Files imagebuildctl writes (downloads) appear whole or not at all:
// written to a temporary file next to the target, fsync'ed, then renamed.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace imagebuild::ctl {

// produce(write) calls write(chunk) as often as it likes; on any exception
// the temporary file is removed and the exception passes on. Throws
// CtlError naming the path when the file cannot be written.
void writeFileAtomically(
    const std::string& path,
    const std::function<void(const std::function<void(std::string_view)>&)>& produce);

}  // namespace imagebuild::ctl
