// The `imagebuildctl ksflatten` verb. Its own file so the kickstart work and
// the rest of imagebuildctl can move in parallel: main.cpp only calls these.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace imagebuild::ctl {

struct KsflattenOptions {
    std::string file;    // the root kickstart
    std::string output;  // -o: write here instead of stdout
    std::string root;    // --root: bundle root; includes must resolve inside it
    bool check = false;  // --check: validate only
    bool lint = false;   // --lint: warnings with file:line of the original files
    bool json = false;   // global --json: list of files read with sha256
};

// Adds the `ksflatten` subcommand to app, bound to options (all but json).
CLI::App* addKsflattenCommand(CLI::App& app, KsflattenOptions& options);

// Runs it; returns an exit code from exit_codes.hpp.
int runKsflatten(const KsflattenOptions& options);

}  // namespace imagebuild::ctl
