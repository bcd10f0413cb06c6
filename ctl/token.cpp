#include "ctl/token.hpp"

#include <fmt/format.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "common/build_spec.hpp"
#include "common/exit_codes.hpp"
#include "common/sha256.hpp"
#include "ctl/ctl_error.hpp"

namespace imagebuild::ctl {

namespace {

// 256 bits: as many as the sha256 the forwarder keeps of it.
std::string randomHex() {
    std::array<unsigned char, 32> bytes{};
    std::size_t got = 0;
    while (got < bytes.size()) {
        auto n = getrandom(bytes.data() + got, bytes.size() - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw CtlError(kExitFailure,
                           fmt::format("cannot read random bytes: {}", std::strerror(errno)));
        }
        got += static_cast<std::size_t>(n);
    }
    std::string hex;
    for (auto byte : bytes) {
        hex += fmt::format("{:02x}", byte);
    }
    return hex;
}

}  // namespace

CLI::App* addTokenCommand(CLI::App& app, TokenOptions& options) {
    auto* token = app.add_subcommand("token", "Make bearer tokens for the forwarder");
    token->require_subcommand(1);
    auto* created = token->add_subcommand(
        "new", "Print a new random token and the line granting it, for /etc/imagebuild/tokens");
    created->add_option("NAME", options.name, "Who the token stands for (the builds' submitter)")
        ->required();
    created->add_option("--role", options.role, "read, write (the default) or admin")
        ->type_name("ROLE");
    return token;
}

NewToken makeToken(const TokenOptions& options) {
    if (auto problem = submitterNameProblem(options.name); !problem.empty()) {
        throw CtlError(kExitUsage, fmt::format("token new: the name {}", problem));
    }
    // A tokens file separates its fields by blanks and starts comments with '#'.
    if (options.name.find_first_of(" \t#") != std::string::npos) {
        throw CtlError(kExitUsage, fmt::format("token new: the name '{}' has a blank or '#', "
                                               "which a tokens file cannot hold",
                                               options.name));
    }
    if (options.role != "read" && options.role != "write" && options.role != "admin") {
        throw CtlError(kExitUsage, fmt::format("token new: --role '{}' is not one of read, write, "
                                               "admin",
                                               options.role));
    }
    NewToken created;
    created.token = randomHex();
    created.line = fmt::format("{} {} {}", options.name, sha256Hex(created.token), options.role);
    return created;
}

int runTokenNew(const TokenOptions& options) {
    auto created = makeToken(options);
    // stdout: what a script needs, one per line; stderr: what a person needs.
    std::cout << "token: " << created.token << '\n'
              << "tokens line: " << created.line << '\n'
              << std::flush;
    std::cerr << "Give the token to " << options.name
              << " (imagebuildctl --token-file FILE, or $IMAGEBUILD_TOKEN); add the line to "
                 "/etc/imagebuild/tokens on every forwarder it may use. Only the line's sha256 "
                 "is stored there: keep the token itself secret.\n";
    return kExitOk;
}

}  // namespace imagebuild::ctl
