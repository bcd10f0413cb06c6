#include "forwarder/tokens.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/sha256.hpp"

namespace imagebuild::forwarder {

namespace {

bool isSha256Hex(const std::string& text) {
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
           });
}

}  // namespace

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
        std::transform(hex.begin(), hex.end(), hex.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (!isSha256Hex(hex)) {
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
        store.entries_.push_back({hex, identity});
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
    auto digest = sha256Hex(token);
    std::optional<TokenIdentity> found;
    for (const auto& entry : entries_) {
        if (CRYPTO_memcmp(entry.hash.data(), digest.data(), digest.size()) == 0 && !found) {
            found = entry.identity;
        }
    }
    return found;
}

}  // namespace imagebuild::forwarder
