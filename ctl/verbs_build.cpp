// build, retry, cancel, pin, unpin, wait: the verbs that change or wait for a build.
#include <fmt/format.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/build_json.hpp"
#include "common/kickstart_flatten.hpp"
#include "ctl/ctl_error.hpp"
#include "ctl/journal_log.hpp"
#include "ctl/legacy_config.hpp"
#include "ctl/side_repo_options.hpp"
#include "ctl/verbs.hpp"

namespace imagebuild::ctl {

namespace {

// %include and %ksappend resolve next to the file, as pykickstart resolves
// them; the agent gets one flattened text.
std::string flattenKickstart(const std::string& path) {
    try {
        kickstart::DiskSource disk;
        return kickstart::flatten(disk, path).text;
    } catch (const kickstart::KickstartError& e) {
        throw CtlError(kExitUsage, fmt::format("Kickstart error: {}", e.what()));
    } catch (const kickstart::SourceError& e) {
        throw CtlError(kExitUsage,
                       fmt::format("{}: cannot read the kickstart: {}", path, e.what()));
    }
}

// "K=V" arguments of --label; throws CtlError (usage) naming the bad one.
std::map<std::string, std::string> parseLabels(const std::vector<std::string>& labels) {
    std::map<std::string, std::string> result;
    for (const auto& label : labels) {
        auto eq = label.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw CtlError(
                kExitUsage,
                fmt::format("--label '{}': expected KEY=VALUE, e.g. --label team=qa", label));
        }
        result[label.substr(0, eq)] = label.substr(eq + 1);
    }
    return result;
}

// The spec of the options and of the legacy request file (--config), which
// the options override; sent as the agent's a{sv} or the HTTP API's JSON by
// the one spec codec (common/build_spec.hpp).
BuildSpec specFrom(const BuildOptions& o) {
    BuildSpec request;
    std::string kickstartPath = o.kickstart;
    if (!o.config.empty()) {
        auto legacy = loadLegacyConfig(o.config);
        for (const auto& warning : legacy.warnings) {
            fmt::print(stderr, "Warning: {}\n", warning);
        }
        request = legacy.spec;
        kickstartPath = legacy.kickstartPath;
    }
    auto override = [](std::string& field, const std::string& value) {
        if (!value.empty()) {
            field = value;
        }
    };
    override(request.type, o.type);
    override(request.arch, o.arch);
    override(request.release, o.release);
    override(request.name, o.name);
    request.notify.insert(request.notify.end(), o.notify.begin(), o.notify.end());
    for (const auto& [key, value] : parseLabels(o.labels)) {
        request.labels[key] = value;
    }
    if (o.timeoutSec) {
        request.timeoutSec = *o.timeoutSec;
    }
    request.rpms = openRpms(o.rpms);
    for (const auto& [name, url] : parseRepos(o.repos)) {
        request.repos[name] = url;
    }
    request.updates = request.updates || o.updates;
    request.updatesTesting = request.updatesTesting || o.updatesTesting;
    if (o.priority) {
        request.priority = *o.priority;
    }
    request.kickstart = flattenKickstart(kickstartPath);
    return request;
}

void printSubmitted(const OutputMode& out, const BuildInfo& info) {
    if (out.json) {
        fmt::print("{}\n", nlohmann::json(info).dump());
    } else if (out.quiet) {
        fmt::print("{}\n", info.id);
    } else {
        if (info.retryOf.empty()) {
            fmt::print("Submitted build {}.\n", info.id);
        } else {
            fmt::print("Submitted build {} (retry of {}).\n", info.id, info.retryOf);
        }
        if (!info.monitorUrl.empty()) {
            fmt::print("Monitor: {}\n", info.monitorUrl);
        }
    }
    std::fflush(stdout);
}

void printEnded(const OutputMode& out, const BuildInfo& info) {
    if (out.json) {
        fmt::print("{}\n", nlohmann::json(info).dump());
    } else if (!out.quiet) {
        fmt::print(stderr, "Build {} {}.\n", info.id,
                   info.result.empty() ? info.state : info.result);
    }
}

// Streams the log until the build ends, then returns its final record.
BuildInfo follow(Session& session, const std::string& id) {
    auto& backend = session.backend();
    auto format = session.output().json ? LogFormat::kJson : LogFormat::kCat;
    if (backend.servesLog()) {
        backend.streamLog(id, true, [](std::string_view chunk) {
            std::fwrite(chunk.data(), 1, chunk.size(), stdout);
            std::fflush(stdout);
        });
    } else {
        try {
            printBuildLog({id, std::nullopt, true, format}, stdout,
                          [&backend, &id] { return backend.get(id).finished(); });
        } catch (const CtlError& e) {
            // The build is submitted either way: wait for it without its log.
            fmt::print(stderr, "Log not shown: {}\n", e.what());
        }
    }
    return backend.waitFinished(id);
}

// What build and retry do once the build is submitted.
int afterSubmit(Session& session, const BuildInfo& info, bool wait, bool followLog) {
    const auto& out = session.output();
    if (!followLog || !out.json) {
        printSubmitted(out, info);
    }
    if (!wait && !followLog) {
        return kExitOk;
    }
    auto ended = followLog ? follow(session, info.id) : session.backend().waitFinished(info.id);
    if (!followLog || !out.json) {
        printEnded(out, ended);
    }
    return exitCodeForResult(ended.result.empty() ? ended.state : ended.result);
}

}  // namespace

int verbBuild(Session& session, const BuildOptions& options) {
    auto request = specFrom(options);
    return afterSubmit(session, session.backend().submit(request), options.wait, options.follow);
}

int verbRetry(Session& session, const RetryOptions& options) {
    return afterSubmit(session, session.backend().retry(options.id), options.wait, options.follow);
}

namespace {

// Applies change to each build; a failure is reported and the others are
// still tried. Returns the exit code of the first failure.
int changeEach(const std::vector<std::string>& ids, const char* verb,
               const std::function<void(const std::string&)>& change) {
    int worst = kExitOk;
    for (const auto& id : ids) {
        try {
            change(id);
        } catch (const CtlError& e) {
            fmt::print(stderr, "Failed to {} {}: {}\n", verb, id, e.what());
            worst = worst == kExitOk ? e.exitCode() : worst;
        }
    }
    return worst;
}

}  // namespace

int verbCancel(Session& session, const std::vector<std::string>& ids) {
    return changeEach(ids, "cancel",
                      [&session](const std::string& id) { session.backend().cancel(id); });
}

int verbPin(Session& session, const std::vector<std::string>& ids, bool pinned) {
    return changeEach(ids, pinned ? "pin" : "unpin", [&session, pinned](const std::string& id) {
        session.backend().setPinned(id, pinned);
    });
}

int verbWait(Session& session, const std::vector<std::string>& ids) {
    int worst = kExitOk;
    for (const auto& id : ids) {
        auto info = session.backend().waitFinished(id);
        printEnded(session.output(), info);
        int code = exitCodeForResult(info.result.empty() ? info.state : info.result);
        worst = worst == kExitOk ? code : worst;
    }
    return worst;
}

}  // namespace imagebuild::ctl
