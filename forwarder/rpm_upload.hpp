// Side RPMs uploaded over HTTP (`rpm` parts of a multipart/form-data POST
// /v1/builds): each is written to an anonymous file the local agent reads
// through the fd Submit takes in `rpms` (a{sh}), as it reads imagebuildctl's
// files over D-Bus. Nothing lands in a directory: the file goes when its last
// fd closes.
#pragma once

#include <sdbus-c++/Types.h>

#include <string>
#include <string_view>

namespace imagebuild::forwarder {

// A sealed memfd (no more writes, no resizing) holding `bytes`, at offset 0;
// `name` only labels it in /proc. Throws std::system_error.
sdbus::UnixFd anonymousFileWith(std::string_view bytes, const std::string& name);

}  // namespace imagebuild::forwarder
