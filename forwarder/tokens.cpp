#include "forwarder/tokens.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace imagebuild::forwarder {

namespace {

std::optional<Sha256> fromHex(std::string_view hex) {
    if (hex.size() != 64) {
        return std::nullopt;
    }
    Sha256 out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        unsigned value = 0;
        for (char c : hex.substr(2 * i, 2)) {
            value <<= 4;
            if (c >= '0' && c <= '9') {
                value |= static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                value |= static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                value |= static_cast<unsigned>(c - 'A' + 10);
            } else {
                return std::nullopt;
            }
        }
        out[i] = static_cast<unsigned char>(value);
    }
    return out;
}

}  // namespace

Sha256 sha256(std::string_view data) {
    Sha256 digest{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
        length != digest.size()) {
        throw std::runtime_error("EVP_Digest(sha256) failed");
    }
    return digest;
}

std::string toHex(const Sha256& digest) {
    std::string out;
    for (unsigned char c : digest) {
        out += fmt::format("{:02x}", c);
    }
    return out;
}

TokenStore TokenStore::parse(std::string_view text, const std::string& name) {
    TokenStore store;
    std::istringstream in{std::string(text)};
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (auto hash = line.find('#'); hash != std::string::npos) {
            line.erase(hash);
        }
        std::istringstream words(line);
        std::string who, hex, role, extra;
        if (!(words >> who)) {
            continue;
        }
        if (!(words >> hex) || (words >> role && words >> extra)) {
            throw TokenError(
                fmt::format("{}:{}: expected '<name> <sha256 hex> [write|read]'", name, n));
        }
        auto digest = fromHex(hex);
        if (!digest) {
            throw TokenError(fmt::format("{}:{}: '{}' is not a sha256 (64 hex digits)", name, n,
                                         hex.substr(0, 80)));
        }
        TokenIdentity identity{who, TokenRole::Write};
        if (role == "read") {
            identity.role = TokenRole::Read;
        } else if (!role.empty() && role != "write") {
            throw TokenError(
                fmt::format("{}:{}: role '{}' is not 'write' or 'read'", name, n, role));
        }
        store.entries_.push_back({*digest, identity});
    }
    return store;
}

TokenStore TokenStore::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) {
            return {};
        }
        throw TokenError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

std::optional<TokenIdentity> TokenStore::verify(std::string_view token) const {
    auto digest = sha256(token);
    std::optional<TokenIdentity> found;
    for (const auto& entry : entries_) {
        if (CRYPTO_memcmp(entry.hash.data(), digest.data(), digest.size()) == 0 && !found) {
            found = entry.identity;
        }
    }
    return found;
}

}  // namespace imagebuild::forwarder
