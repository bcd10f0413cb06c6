#include "common/sha256.hpp"

#include <gcrypt.h>

#include <array>
#include <mutex>
#include <stdexcept>

namespace imagebuild {

namespace {

constexpr std::size_t kDigestBytes = 32;

// libgcrypt wants its version checked and its initialisation declared
// finished before first use. libsystemd may have done it already (it uses
// libgcrypt for sealed journals); then this leaves it as it is.
void initialiseLibgcrypt() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
            return;
        }
        if (!gcry_check_version(GCRYPT_VERSION)) {
            throw std::runtime_error("libgcrypt: older than the version built against");
        }
        gcry_control(GCRYCTL_DISABLE_SECMEM, 0);  // hashes only: no secret keys kept
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    });
}

std::string toHex(const unsigned char* digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(kDigestBytes * 2);
    for (std::size_t i = 0; i < kDigestBytes; ++i) {
        hex.push_back(kHex[digest[i] >> 4]);
        hex.push_back(kHex[digest[i] & 0x0F]);
    }
    return hex;
}

}  // namespace

std::string sha256Hex(std::string_view data) {
    initialiseLibgcrypt();
    std::array<unsigned char, kDigestBytes> digest{};
    gcry_md_hash_buffer(GCRY_MD_SHA256, digest.data(), data.data(), data.size());
    return toHex(digest.data());
}

void Sha256::HandleCloser::operator()(gcry_md_handle* handle) const {
    gcry_md_close(handle);
}

Sha256::Sha256() {
    initialiseLibgcrypt();
    gcry_md_hd_t handle = nullptr;
    if (gcry_md_open(&handle, GCRY_MD_SHA256, 0) != 0) {
        throw std::runtime_error("libgcrypt: SHA-256 init failed");
    }
    handle_.reset(handle);
}

void Sha256::update(std::string_view data) {
    gcry_md_write(handle_.get(), data.data(), data.size());
}

std::string Sha256::finishHex() {
    const unsigned char* digest = gcry_md_read(handle_.get(), GCRY_MD_SHA256);
    if (!digest) {
        throw std::runtime_error("libgcrypt: SHA-256 final failed");
    }
    return toHex(digest);
}

bool equalInConstantTime(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    // Every byte is looked at; volatile keeps the compiler from stopping early.
    volatile unsigned char difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        difference = difference | static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return difference == 0;
}

}  // namespace imagebuild
