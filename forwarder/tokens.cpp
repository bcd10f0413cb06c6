#include "forwarder/tokens.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/build_spec.hpp"
#include "common/sha256.hpp"

namespace imagebuild::forwarder {

namespace {

bool isSha256Hex(const std::string& text) {
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
           });
}

}  // namespace

std::optional<TokenRole> parseTokenRole(std::string_view word) {
    if (word == "read") {
        return TokenRole::Read;
    }
    if (word == "write") {
        return TokenRole::Write;
    }
    if (word == "admin") {
        return TokenRole::Admin;
    }
    return std::nullopt;
}

const char* tokenRoleName(TokenRole role) {
    switch (role) {
        case TokenRole::Read:
            return "read";
        case TokenRole::Write:
            return "write";
        case TokenRole::Admin:
            return "admin";
    }
    return "read";
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
                fmt::format("{}:{}: expected '<name> <sha256 hex> [read|write|admin]'", name, n));
        }
        std::transform(hex.begin(), hex.end(), hex.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (!isSha256Hex(hex)) {
            throw TokenError(fmt::format("{}:{}: '{}' is not a sha256 (64 hex digits)", name, n,
                                         hex.substr(0, 80)));
        }
        // The name becomes the builds' submitter: the agent's rules apply.
        if (auto problem = submitterNameProblem(who); !problem.empty()) {
            throw TokenError(fmt::format("{}:{}: the name {}", name, n, problem));
        }
        TokenIdentity identity{who, TokenRole::Write};
        if (!role.empty()) {
            auto parsed = parseTokenRole(role);
            if (!parsed) {
                throw TokenError(fmt::format("{}:{}: role '{}' is not 'read', 'write' or 'admin'",
                                             name, n, role.substr(0, 80)));
            }
            identity.role = *parsed;
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
        if (equalInConstantTime(entry.hash, digest) && !found) {
            found = entry.identity;
        }
    }
    return found;
}

}  // namespace imagebuild::forwarder
