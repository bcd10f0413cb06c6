// The `imagebuildctl token new` verb: a random bearer token for the
// forwarder and the line that grants it in a tokens file (the format of
// forwarder/tokens.cpp: "<name> <sha256 of the token> [read|write|admin]").
// Its own file, as ksflatten: main.cpp only calls these.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace imagebuild::ctl {

struct TokenOptions {
    std::string name;            // who the token stands for (the builds' submitter)
    std::string role = "write";  // read | write | admin
};

// A token line for a tokens file, with its new random token.
struct NewToken {
    std::string token;  // 64 hex digits from the kernel's random source
    std::string line;   // "<name> <sha256(token)> <role>"
};

// Adds `token new NAME [--role ROLE]` to app, bound to options.
CLI::App* addTokenCommand(CLI::App& app, TokenOptions& options);

// A new token for options; throws CtlError naming the bad name or role.
NewToken makeToken(const TokenOptions& options);

// Runs `token new`: prints the token and its line; an exit code.
int runTokenNew(const TokenOptions& options);

}  // namespace imagebuild::ctl
