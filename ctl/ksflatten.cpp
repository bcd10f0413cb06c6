// imagebuildctl ksflatten: the kickstart flattener of common/ on the command
// line, for people and for CI checks of a kickstart tree.
#include "ctl/ksflatten.hpp"

#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/exit_codes.hpp"
#include "common/kickstart_flatten.hpp"
#include "common/kickstart_lint.hpp"
#include "common/sha256.hpp"

namespace imagebuild::ctl {

namespace {

namespace fs = std::filesystem;
namespace ks = imagebuild::kickstart;

// A failure with the exit code it maps to.
struct Failure {
    int code;
    std::string message;
};

// Readers of path see the old file or the new one, never half of it.
void writeAtomically(const std::string& path, const std::string& text) {
    try {
        writeFileAtomic(path, text);
    } catch (const std::system_error& e) {
        throw Failure{kExitFailure, e.what()};  // it names the file
    }
}

// The source to read from and the root file's path in its terms.
std::unique_ptr<ks::FileSource> openSource(const KsflattenOptions& options, std::string* rootFile) {
    *rootFile = options.file;
    if (options.root.empty()) {
        auto disk = std::make_unique<ks::DiskSource>();
        if (!disk->exists(options.file)) {
            throw Failure{kExitNotFound, fmt::format("{}: no such file", options.file)};
        }
        return disk;
    }
    std::unique_ptr<ks::BundleSource> bundle;
    try {
        bundle = std::make_unique<ks::BundleSource>(options.root);
    } catch (const ks::SourceError& e) {
        throw Failure{e.kind == ks::SourceErrorKind::NotFound ? kExitNotFound : kExitUsage,
                      fmt::format("--root: {}", e.what())};
    }
    // FILE is a path like any other on the command line; it must lie in DIR.
    fs::path file = fs::absolute(options.file).lexically_normal();
    fs::path root = fs::absolute(options.root).lexically_normal();
    fs::path relative = file.lexically_relative(root);
    if (relative.empty() || *relative.begin() == "..") {
        throw Failure{kExitUsage, fmt::format("{} is not inside the bundle root {}", options.file,
                                              options.root)};
    }
    *rootFile = relative.string();
    bool exists = false;
    try {
        exists = bundle->exists(*rootFile);
    } catch (const ks::SourceError& e) {
        throw Failure{kExitFailure, e.what()};
    }
    if (!exists) {
        throw Failure{kExitNotFound, fmt::format("{}: no such file", options.file)};
    }
    return bundle;
}

nlohmann::json toJson(const std::string& rootFile, const ks::FlattenResult& result,
                      const std::vector<ks::Warning>* warnings) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : result.files) {
        files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"size", f.size}});
    }
    nlohmann::json j = {{"root", rootFile},
                        {"sha256", sha256Hex(result.text)},
                        {"size", result.text.size()},
                        {"files", files}};
    if (warnings != nullptr) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& w : *warnings) {
            list.push_back({{"file", w.file}, {"line", w.line}, {"message", w.message}});
        }
        j["warnings"] = list;
    }
    return j;
}

int run(const KsflattenOptions& options) {
    if (options.file.empty()) {
        throw Failure{kExitUsage, "a kickstart FILE is required"};
    }
    std::string rootFile;
    auto source = openSource(options, &rootFile);
    ks::FlattenResult result;
    try {
        result = ks::flatten(*source, rootFile);
    } catch (const ks::KickstartError& e) {
        throw Failure{kExitFailure, e.what()};
    }
    std::vector<ks::Warning> warnings;
    if (options.lint) {
        warnings = ks::lint(result);
        for (const auto& w : warnings) {
            std::cerr << w.file << (w.line ? fmt::format(":{}", w.line) : "")
                      << ": warning: " << w.message << '\n';
        }
    }
    if (!options.check && !options.output.empty()) {
        writeAtomically(options.output, result.text);
    }
    if (options.json) {
        std::cout << toJson(rootFile, result, options.lint ? &warnings : nullptr).dump(2) << '\n';
    } else if (!options.check && options.output.empty()) {
        std::cout << result.text;
    }
    std::cout << std::flush;
    return warnings.empty() ? kExitOk : kExitFailure;
}

}  // namespace

CLI::App* addKsflattenCommand(CLI::App& app, KsflattenOptions& options) {
    auto* cmd = app.add_subcommand(
        "ksflatten", "Flatten a kickstart: replace %include and %ksappend by the files they name");
    cmd->add_option("FILE", options.file, "The root kickstart file")->required();
    cmd->add_option("-o,--output", options.output,
                    "Write the flattened kickstart to OUT (atomically) instead of stdout");
    cmd->add_option("--root", options.root,
                    "Bundle root: includes must resolve inside DIR (no absolute paths, no '..' "
                    "or symlinks leading out, no URLs)");
    cmd->add_flag("--check", options.check, "Only validate; print nothing on success");
    cmd->add_flag("--lint", options.lint,
                  "Also warn about unknown sections, missing %end, repeated single-use commands "
                  "and a missing %packages (exit 1 if any)");
    return cmd;
}

int runKsflatten(const KsflattenOptions& options) {
    try {
        return run(options);
    } catch (const Failure& failure) {
        std::cout << std::flush;
        std::cerr << "ksflatten: " << failure.message << '\n';
        return failure.code;
    }
}

}  // namespace imagebuild::ctl
