// list, status, show, log, artifacts, hosts: the verbs that only read.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/build_json.hpp"
#include "common/clock.hpp"
#include "ctl/ctl_error.hpp"
#include "ctl/journal_log.hpp"
#include "ctl/table.hpp"
#include "ctl/terminal.hpp"
#include "ctl/time_format.hpp"
#include "ctl/verbs.hpp"

namespace imagebuild::ctl {

namespace {

constexpr std::uint64_t kStatusLines = 10;

std::string joined(const std::vector<std::string>& items) {
    return items.empty() ? "-" : fmt::format("{}", fmt::join(items, ","));
}

std::string humanSize(std::uint64_t bytes) {
    const char* units[] = {"B", "K", "M", "G", "T"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.1f}{}", value, units[unit]);
}

void printTable(const OutputMode& out, const Table& table, const std::string& noun) {
    table.render(out.legend, out.colors, [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
    });
    if (out.legend) {
        fmt::print("\n{} {}{} listed.\n", table.size(), noun, table.size() == 1 ? "" : "s");
    }
}

// What the build's unit used, as a person reads it; a figure the host
// could not give is "not available", never 0.
std::string describeResources(const ResourceUsage& r) {
    auto figure = [](const std::optional<std::uint64_t>& value, auto format) {
        return value ? format(*value) : std::string("not available");
    };
    return fmt::format("CPU {}, memory peak {}, IO read {}, IO write {}, wall {}",
                       figure(r.cpuUsec, formatDuration), figure(r.memoryPeakBytes, humanSize),
                       figure(r.ioReadBytes, humanSize), figure(r.ioWriteBytes, humanSize),
                       figure(r.wallUsec, formatDuration));
}

std::string describeAttempt(const BuildAttempt& a) {
    return fmt::format("{}{}{}{}, {} - {}", a.state,
                       a.failureClass.empty() ? "" : " (" + a.failureClass + ")",
                       a.reason.empty() ? "" : ": ", a.reason, formatTimestamp(a.startedAt),
                       formatTimestamp(a.finishedAt));
}

// "failed (infra)": the state, with the failure class when there is one.
std::string stateWithClass(const BuildInfo& b) {
    return b.failureClass.empty() ? b.state : fmt::format("{} ({})", b.state, b.failureClass);
}

// The properties `show` prints, named as on the bus (org.imagebuild.Build1).
std::vector<std::pair<std::string, std::string>> properties(const BuildInfo& b) {
    std::vector<std::string> artifacts;
    for (const auto& a : b.artifacts) {
        artifacts.push_back(a.path);
    }
    std::vector<std::string> labels;
    for (const auto& [k, v] : b.labels) {
        labels.push_back(k + "=" + v);
    }
    std::vector<std::string> attemptTexts;
    for (const auto& a : b.attempts) {
        attemptTexts.push_back(fmt::format("{}: {}", a.attempt, describeAttempt(a)));
    }
    return {{"Id", b.id},
            {"Host", b.host},
            {"Type", b.type},
            {"Arch", b.arch},
            {"Release", b.release},
            {"Name", b.name},
            {"State", b.state},
            {"Result", b.result},
            {"ExitStatus", std::to_string(b.exitStatus)},
            {"Reason", b.reason},
            {"Unit", b.unit},
            {"SubmitterUid", std::to_string(b.submitterUid)},
            {"Submitter", b.submitter},
            {"SubmittedAt", formatTimestamp(b.submittedAt)},
            {"StartedAt", formatTimestamp(b.startedAt)},
            {"FinishedAt", formatTimestamp(b.finishedAt)},
            {"TimeoutUSec", std::to_string(b.timeoutUSec)},
            {"MonitorUrl", b.monitorUrl},
            {"Labels", fmt::format("{}", fmt::join(labels, " "))},
            {"Notify", fmt::format("{}", fmt::join(b.notify, " "))},
            {"Pinned", b.pinned ? "yes" : "no"},
            {"RetryOf", b.retryOf},
            {"FailureClass", b.failureClass},
            {"Resources", b.finished() ? describeResources(b.resources) : ""},
            {"StagedAt", formatTimestamp(b.stagedAt)},
            {"Attempt", std::to_string(b.attempt)},
            {"Attempts", fmt::format("{}", fmt::join(attemptTexts, "; "))},
            {"Priority", std::to_string(b.priority)},
            {"Stalled", b.stalled() ? "yes" : "no"},
            {"StalledSince", formatTimestamp(b.stalledSince)},
            {"Artifacts", fmt::format("{}", fmt::join(artifacts, " "))}};
}

std::vector<std::string> remoteLastLines(Backend& backend, const std::string& id) {
    std::string text;
    backend.streamLog(id, false, [&text](std::string_view chunk) { text.append(chunk); });
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    if (lines.size() > kStatusLines) {
        lines.erase(lines.begin(), lines.end() - kStatusLines);
    }
    return lines;
}

// "running (stalled 31min 5s)" while its log has been silent for the
// type's stall_timeout; the state alone otherwise.
std::string stateWithStall(const BuildInfo& b, std::uint64_t now) {
    if (!b.stalled() || b.finished()) {
        return b.state;
    }
    return fmt::format("{} (stalled {})", b.state,
                       formatDuration(now > b.stalledSince ? now - b.stalledSince : 0));
}

void printStatus(const OutputMode& out, const BuildInfo& b) {
    std::string state = stateWithStall(b, realtimeUsec());
    std::string color(stateColor(b.state));
    if (out.colors && !color.empty()) {
        state = color + state + "\033[0m";
    }
    auto dot = out.colors ? color + "●\033[0m" : std::string("●");
    fmt::print("{} {}{} ({} {} {})\n", dot, b.id, b.name.empty() ? "" : " - " + b.name, b.type,
               b.arch, b.release);
    fmt::print("      State: {}", state);
    if (b.startedAt) {
        fmt::print(" for {}", buildDuration(b.startedAt, b.finishedAt, realtimeUsec()));
    }
    if (b.exitStatus >= 0 && b.finished()) {
        fmt::print(" (exit status {})", b.exitStatus);
    }
    fmt::print("\n");
    auto line = [](const char* key, const std::string& value) {
        if (!value.empty() && value != "-") {
            fmt::print("{:>11}: {}\n", key, value);
        }
    };
    line("Reason", b.reason);
    line("Class", b.failureClass);
    line("Retry of", b.retryOf);
    if (b.attempt > 1 || !b.attempts.empty()) {
        line("Attempt", std::to_string(b.attempt));
        for (const auto& a : b.attempts) {
            line(fmt::format("Attempt {}", a.attempt).c_str(), describeAttempt(a));
        }
    }
    line("Priority", b.priority == 0 ? std::string("0 (normal)") : std::to_string(b.priority));
    line("Unit", b.unit);
    line("Submitted", formatTimestamp(b.submittedAt));
    line("Started", formatTimestamp(b.startedAt));
    line("Finished", formatTimestamp(b.finishedAt));
    if (b.finished() && b.startedAt != 0) {
        line("Resources", describeResources(b.resources));
    }
    // Agents older than Build1.Submitter give only the uid.
    line("Submitter", b.submitter.empty() ? fmt::format("uid {}", b.submitterUid) : b.submitter);
    line("Monitor", b.monitorUrl);
    if (b.pinned) {
        line("Pinned", "yes (kept by cleanup)");
    }
    for (std::size_t i = 0; i < b.artifacts.size(); ++i) {
        line(i == 0 ? "Artifacts" : "",
             fmt::format("{} ({})", b.artifacts[i].name, humanSize(b.artifacts[i].size)));
    }
}

}  // namespace

int verbList(Session& session, const ListOptions& options) {
    // Without --all or --state, like systemctl list-units: what is not over
    // yet, filtered by the agent, so finished builds are never fetched.
    std::vector<std::string> states = options.states;
    if (states.empty() && !options.all) {
        states = {"queued", "running"};
    }
    // The newest 50 unless asked otherwise: a list costs one page however
    // long the history is.
    constexpr std::uint32_t kDefaultLimit = 50;
    std::optional<std::uint32_t> newest;
    if (options.limit) {
        newest = *options.limit == 0 ? std::nullopt : options.limit;
    } else if (!options.all) {
        newest = kDefaultLimit;
    }
    const auto& out = session.output();
    auto warn = [](const std::vector<std::string>& unreachable) {
        for (const auto& host : unreachable) {
            fmt::print(stderr, "Warning: host {} did not answer; its builds are not listed.\n",
                       host);
        }
    };
    if (out.json) {
        // The array written element by element: the same text as dumping
        // a json array of all builds, without building that array.
        std::string text = "[";
        auto unreachable = session.backend().listEach(
            states,
            [&text](BuildInfo&& b) {
                if (text.size() > 1) {
                    text += ',';
                }
                text += nlohmann::json(b).dump();
            },
            newest);
        text += "]\n";
        warn(unreachable);
        std::fwrite(text.data(), 1, text.size(), stdout);
        return kExitOk;
    }
    if (out.quiet) {
        std::string ids;
        auto unreachable = session.backend().listEach(
            states, [&ids](BuildInfo&& b) { ids.append(b.id).push_back('\n'); }, newest);
        warn(unreachable);
        std::fwrite(ids.data(), 1, ids.size(), stdout);
        return kExitOk;
    }
    // Each build becomes a row as it is decoded; the clock is read once.
    Table table({"ID", "TYPE", "ARCH", "RELEASE", "STATE", "SUBMITTED", "DURATION"});
    auto now = realtimeUsec();
    std::size_t rows = 0;
    auto unreachable = session.backend().listEach(
        states,
        [&table, &rows, now](BuildInfo&& b) {
            ++rows;
            table.addRow(
                {{b.id},
                 {b.type},
                 {b.arch},
                 {b.release},
                 {b.finished() ? stateWithClass(b) : stateWithStall(b, now), stateColor(b.state)},
                 {formatTimestamp(b.submittedAt)},
                 {buildDuration(b.startedAt, b.finishedAt, now)}});
        },
        newest);
    warn(unreachable);
    Pager pager(session.paging());
    printTable(out, table, "build");
    if (out.legend && newest && rows == *newest) {
        fmt::print("Showing the newest {}; pass --all or --limit N for more.\n", *newest);
    }
    if (out.legend && states.size() == 2 && !options.all && options.states.empty()) {
        fmt::print("Pass --all to see finished builds too.\n");
    }
    return kExitOk;
}

int verbStatus(Session& session, const std::string& id) {
    auto& backend = session.backend();
    auto info = backend.get(id);
    const auto& out = session.output();
    if (out.json) {
        fmt::print("{}\n", nlohmann::json(info).dump());
        return kExitOk;
    }
    std::vector<std::string> lines;
    std::string logProblem;
    try {
        lines = backend.servesLog() ? remoteLastLines(backend, id) : lastLogLines(id, kStatusLines);
    } catch (const CtlError& e) {
        logProblem = e.what();  // the status itself is still worth showing
    }
    Pager pager(session.paging());
    printStatus(out, info);
    if (!lines.empty()) {
        fmt::print("\n");
    }
    for (const auto& l : lines) {
        fmt::print("{}\n", l);
    }
    if (!logProblem.empty()) {
        fmt::print("\nLog not shown: {}\n", logProblem);
    }
    return kExitOk;
}

int verbShow(Session& session, const ShowOptions& options) {
    auto info = session.backend().get(options.id);
    if (session.output().json) {
        fmt::print("{}\n", nlohmann::json(info).dump());
        return kExitOk;
    }
    auto all = properties(info);
    for (const auto& wanted : options.properties) {
        auto known =
            std::any_of(all.begin(), all.end(), [&](const auto& p) { return p.first == wanted; });
        if (!known) {
            std::vector<std::string> names;
            for (const auto& p : all) {
                names.push_back(p.first);
            }
            throw CtlError(kExitUsage, fmt::format("Unknown property '{}'; known: {}", wanted,
                                                   fmt::join(names, ", ")));
        }
    }
    for (const auto& [name, value] : all) {
        if (options.properties.empty() ||
            std::find(options.properties.begin(), options.properties.end(), name) !=
                options.properties.end()) {
            fmt::print("{}={}\n", name, value);
        }
    }
    return kExitOk;
}

int verbLog(Session& session, const LogOptions& options) {
    auto format = session.output().json ? LogFormat::kJson : options.format;
    std::optional<Pager> pager;
    if (!options.follow) {
        pager.emplace(session.paging());
    }
    if (session.remote()) {
        auto& backend = session.backend();
        backend.streamLog(options.id, options.follow, [](std::string_view chunk) {
            std::fwrite(chunk.data(), 1, chunk.size(), stdout);
            std::fflush(stdout);
        });
        return kExitOk;
    }
    // Only asked when following; connecting lazily keeps `log` agent-free.
    auto finished = [&session, &options] {
        return session.backend().get(options.id).finished();
    };
    printBuildLog({options.id, options.lines, options.follow, format}, stdout, finished);
    return kExitOk;
}

int verbArtifacts(Session& session, const ArtifactsOptions& options) {
    auto info = session.backend().get(options.id);
    const auto& out = session.output();
    if (!options.download.empty()) {
        if (mkdir(options.download.c_str(), 0755) < 0 && errno != EEXIST) {
            throw CtlError(kExitFailure, fmt::format("{}: cannot create the directory: {}",
                                                     options.download, std::strerror(errno)));
        }
        for (const auto& a : info.artifacts) {
            auto destination = options.download + "/" + a.name;
            session.backend().download(info, a, destination);
            if (!out.quiet && !out.json) {
                fmt::print("{}\n", destination);
            }
        }
    }
    if (out.json) {
        fmt::print("{}\n", nlohmann::json(info.artifacts).dump());
        return kExitOk;
    }
    if (options.download.empty()) {
        Table table({"NAME", "SIZE", "SHA256", "PATH"});
        for (const auto& a : info.artifacts) {
            table.addRow(
                {{a.name}, {humanSize(a.size)}, {a.sha256.empty() ? "-" : a.sha256}, {a.path}});
        }
        printTable(out, table, "artifact");
    }
    return kExitOk;
}

namespace {

// "up", "unknown" (not probed yet) or "down: <why>".
std::string hostStatusText(const HostInfo& host) {
    return host.error.empty() ? host.status : host.status + ": " + host.error;
}

}  // namespace

int verbHosts(Session& session) {
    auto hosts = session.backend().hosts();
    const auto& out = session.output();
    if (out.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& h : hosts) {
            list.push_back({{"hostname", h.hostname},
                            {"url", h.url},
                            {"arches", h.arches},
                            {"releases", h.releases},
                            {"image_types", h.imageTypes},
                            {"running", h.running},
                            {"queued", h.queued},
                            {"max_parallel", h.maxParallel},
                            {"healthy", h.healthy},
                            {"status", h.status},
                            {"error", h.error},
                            {"last_seen", h.lastSeen}});
        }
        fmt::print("{}\n", list.dump());
        return kExitOk;
    }
    Table table({"HOST", "ARCHES", "RELEASES", "TYPES", "RUNNING", "QUEUED", "MAX", "STATUS"});
    for (const auto& h : hosts) {
        table.addRow({{h.hostname},
                      {joined(h.arches)},
                      {joined(h.releases)},
                      {joined(h.imageTypes)},
                      {std::to_string(h.running)},
                      {std::to_string(h.queued)},
                      {std::to_string(h.maxParallel)},
                      {hostStatusText(h), h.status == "up" ? "" : "\033[0;31m"}});
    }
    printTable(out, table, "host");
    return kExitOk;
}

}  // namespace imagebuild::ctl
