// imagebuildctl's command line: the model (plain structs) and the CLI11
// parser that fills it. Pure: parsing never touches the bus or the network,
// so the unit tests drive it with argument vectors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctl/ksflatten.hpp"
#include "ctl/token.hpp"

namespace imagebuild::ctl {

enum class Verb {
    kBuild,
    kList,
    kStatus,
    kLog,
    kCancel,
    kRetry,
    kPin,
    kUnpin,
    kWait,
    kShow,
    kArtifacts,
    kHosts,
    kKsflatten,
    kToken
};

struct GlobalOptions {
    std::string host;       // -H URL: talk HTTP to that forwarder
    std::string tokenFile;  // --token-file; else $IMAGEBUILD_TOKEN
    bool json = false;
    bool noPager = false;
    bool noLegend = false;
    bool quiet = false;
    bool noAskPassword = false;
};

struct BuildOptions {
    std::string kickstart;  // KS positional
    std::string config;     // --config imagebuild.conf (legacy request)
    std::string type;
    std::string arch;
    std::string release;
    std::string name;
    std::vector<std::string> notify;
    std::optional<std::uint64_t> timeoutSec;
    std::optional<std::int32_t> priority;
    std::vector<std::string> labels;
    std::vector<std::string> rpms;   // --rpm FILE
    std::vector<std::string> repos;  // --repo NAME=URL
    bool updates = false;
    bool updatesTesting = false;
    bool wait = false;
    bool follow = false;
};

// retry ID: a new build with that build's spec.
struct RetryOptions {
    std::string id;
    bool wait = false;
    bool follow = false;
};

struct ListOptions {
    std::vector<std::string> states;
    bool all = false;
    // -n: the newest N builds; unset: 50, or every build with --all. 0: all.
    std::optional<std::uint32_t> limit;
};

enum class LogFormat { kShort, kCat, kJson };

struct LogOptions {
    std::string id;
    bool follow = false;
    std::optional<std::uint64_t> lines;  // -n: the last N lines
    LogFormat format = LogFormat::kShort;
};

struct ShowOptions {
    std::string id;
    std::vector<std::string> properties;
};

struct ArtifactsOptions {
    std::string id;
    std::string download;
};

struct Invocation {
    GlobalOptions global;
    Verb verb = Verb::kList;
    BuildOptions build;
    ListOptions list;
    std::string statusId;
    LogOptions log;
    std::vector<std::string> ids;  // cancel, wait
    RetryOptions retry;
    ShowOptions show;
    ArtifactsOptions artifacts;
    KsflattenOptions ksflatten;
    TokenOptions token;
};

// Either an invocation to run, or what to print and the exit code to end
// with (--help, --version: 0; bad usage: 2 with a suggestion if one is close).
struct ParseOutcome {
    std::optional<Invocation> invocation;
    int exitCode = 0;
    std::string out;
    std::string err;
};

// args excludes argv[0].
ParseOutcome parseArguments(const std::vector<std::string>& args);

// The verb names, for completion and suggestions.
const std::vector<std::string>& verbNames();

}  // namespace imagebuild::ctl
