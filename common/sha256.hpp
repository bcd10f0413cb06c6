// SHA-256 through libcrypto's EVP interface: a well-reviewed implementation
// (with the CPU's SHA extensions) rather than a home-made one.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

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
    struct ContextDeleter {
        void operator()(evp_md_ctx_st* context) const;
    };
    std::unique_ptr<evp_md_ctx_st, ContextDeleter> context_;
};

}  // namespace imagebuild
