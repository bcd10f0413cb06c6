// SHA-256 through libgcrypt: a well-reviewed implementation (with the CPU's
// SHA extensions) rather than a home-made one, and one that every binary of
// ours has mapped already, as libsystemd links it: libcrypto would be a
// second library of ~1.5 MB resident in each daemon for this one hash.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct gcry_md_handle;

namespace imagebuild {

// Lower-case hex digest of data.
std::string sha256Hex(std::string_view data);

// Incremental hashing, for data that is streamed (a file being copied is
// hashed from the same buffer it is written from: read once).
class Sha256 {
public:
    Sha256();
    void update(std::string_view data);
    // The lower-case hex digest; the object is spent afterwards.
    std::string finishHex();

private:
    struct HandleCloser {
        void operator()(gcry_md_handle* handle) const;
    };
    std::unique_ptr<gcry_md_handle, HandleCloser> handle_;
};

// Whether two strings of the same length are equal, in a time that does not
// depend on where they differ (for comparing secrets and their digests).
bool equalInConstantTime(std::string_view a, std::string_view b);

}  // namespace imagebuild
