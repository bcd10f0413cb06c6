// The Range header of a GET (RFC 9110 §14): one byte range, as curl and
// download managers send. Several ranges are answered with the whole file
// (allowed by the RFC); a malformed header is ignored, as the RFC says.
#pragma once

#include <cstdint>
#include <string_view>

namespace imagebuild::forwarder {

struct ByteRange {
    enum class Kind { Whole, Partial, Unsatisfiable };
    Kind kind = Kind::Whole;
    std::uint64_t first = 0;  // inclusive
    std::uint64_t last = 0;   // inclusive
    std::uint64_t length() const { return last - first + 1; }
};

ByteRange parseByteRange(std::string_view header, std::uint64_t size);

}  // namespace imagebuild::forwarder
