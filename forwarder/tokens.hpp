// Bearer tokens, hashed at rest. /etc/imagebuild/tokens has one token a line:
//     <name> <sha256 of the token, hex> [read|write|admin]
// ('#' starts a comment; the role defaults to write). The name is who the
// token is: it is recorded as the submitter of the builds made with it (the
// agent's spec key "submitter"). A "read" token cannot write; a "write" token
// submits and cancels the builds submitted with its name; an "admin" token
// also cancels anyone's.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace imagebuild::forwarder {

enum class TokenRole { Read, Write, Admin };  // each may do what the one before may

// "read", "write", "admin"; nullopt for anything else.
std::optional<TokenRole> parseTokenRole(std::string_view word);
const char* tokenRoleName(TokenRole role);

struct TokenIdentity {
    std::string name;
    TokenRole role = TokenRole::Write;
};

class TokenError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class TokenStore {
public:
    TokenStore() = default;
    // Throws TokenError "<name>:<line>: ..." on a malformed line.
    static TokenStore parse(std::string_view text, const std::string& name);
    // A missing file is an empty store (every write is refused).
    static TokenStore load(const std::string& path);

    // Compares the token's hash with every entry, in constant time per entry
    // and without stopping at the first match, so timing tells nothing.
    std::optional<TokenIdentity> verify(std::string_view token) const;
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string hash;  // lower-case hex
        TokenIdentity identity;
    };
    std::vector<Entry> entries_;
};

}  // namespace imagebuild::forwarder
