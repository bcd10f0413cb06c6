// SHA-256 through libcrypto's EVP interface: a well-reviewed implementation
// (with the CPU's SHA extensions) rather than a home-made one.
#pragma once

#include <string>
#include <string_view>

namespace imagebuild {

// Lower-case hex digest of data.
std::string sha256Hex(std::string_view data);

}  // namespace imagebuild
