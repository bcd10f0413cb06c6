// /etc/imagebuild/imagebuild.conf: what this build host builds and how.
//
//   [host]                      arches, releases, max_parallel, queue_max,
//                               idle_exit_sec, monitor_url, memory_max,
//                               cpu_quota, tasks_max, timeout_sec, min_free
//   [staging]                   copy_to
//   [mail]                      enabled, from, sendmail, public_url
//   [retention]                 max_age, max_total_size
//   [webhook]                   url, allow_private
//   [repositories]              updates, updates_testing, max_upload
//   [release.<name>]            updates, updates_testing
//   [type.<name>]               command (argv template), tools, sandbox,
//                               network, artifacts, description
//
// See docs/imagebuild.conf.md. Every error names file:line and what is wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/argv_template.hpp"
#include "common/config_file.hpp"

namespace imagebuild {

// How a type's build units are confined (agent/unit_sandbox.hpp has the
// exact systemd settings of each; docs/security.md says why).
enum class Sandbox {
    kNone,    // root with the capabilities loop devices and mounts need (lorax,
              // pungi, livemedia-creator); still no fleet secrets, no other builds
    kStrict,  // an unprivileged user, no capabilities, read-only system,
              // writes only to its own out/ and work/
};

// A type's `retry = infra:N`: a build whose attempt failed for a reason of
// the host, not of its own (failure class "infra"), runs again as attempt
// 2, 3, ... of the same build, at most N more times. Failures of any other
// class are never re-run.
struct RetryPolicy {
    std::uint32_t infra = 0;  // extra attempts after an infra failure; 0: none
};

// "infra:N" (N from 0 to kMaxRetries); nullopt with why in *problem.
inline constexpr std::uint32_t kMaxRetries = 10;
std::optional<RetryPolicy> parseRetryPolicy(const std::string& text, std::string* problem);
// stall_action: kCancel cancels a stalled build ("stalled for 30 min").
enum class StallAction { kNone, kCancel };

struct ImageType {
    std::string name;
    std::string description;
    ArgvTemplate command;
    std::vector<std::string> tools;  // programs that must exist on the host
    Sandbox sandbox = Sandbox::kStrict;
    bool network = false;                // no: the build may open no IP socket
    std::vector<std::string> artifacts;  // globs under {outdir}
    RetryPolicy retry;
    // A running build whose log is silent this long is stalled; 0: never.
    std::uint64_t stallTimeoutSec = 30 * 60;
    StallAction stallAction = StallAction::kNone;  // what a stall does besides being shown
};

struct HostConfig {
    std::vector<std::string> arches;  // default: this machine's
    std::vector<std::string> releases;
    std::uint32_t maxParallel = 2;
    std::uint32_t queueMax = 100;
    std::uint64_t idleExitSec = 30;  // 0: never exit on idle
    std::string monitorUrl;          // may hold {id} and {host}; empty: none
    // Defaults for every build unit; nullopt: no limit set.
    std::optional<std::uint64_t> memoryMax;        // bytes
    std::optional<std::uint64_t> cpuQuotaPercent;  // 100 = one CPU
    std::optional<std::uint64_t> tasksMax;
    std::uint64_t timeoutSec = 4 * 3600;  // when the spec has none
    // Submit is refused while the state or output filesystem has less free
    // than this; 0: never refused for space (a failed write still is).
    std::uint64_t minFreeBytes = std::uint64_t{2} << 30;
};

// [staging]: where a build's artifacts also go, besides its own state
// directory.
struct StagingConfig {
    std::filesystem::path copyTo;  // absolute; empty: no extra copy
};

// [mail]: the two mails of every build with a `notify` list.
struct MailConfig {
    bool enabled = true;
    std::string from;  // empty: imagebuild@<hostname>
    // argv of a sendmail interface; the recipients are appended after "--".
    std::vector<std::string> sendmail{"/usr/sbin/sendmail", "-i"};
    std::string publicUrl;  // the forwarder's public URL, for links in mails
};

// [retention]: what BuildManager1.Cleanup (imagebuild-cleanup.timer)
// removes. Finished, unpinned builds only; nullopt: no limit of that kind.
struct RetentionConfig {
    std::optional<std::uint64_t> maxAgeSec = 30 * 86400;  // since the build ended
    std::optional<std::uint64_t> maxTotalBytes;           // all build directories together
};

// [webhook]: where every build's JSON record is POSTed at each state change
// when its spec names no webhook of its own.
struct WebhookConfig {
    std::string url;  // http://HOST[:PORT]/PATH (common/http_url.hpp); empty: none
    // Whether webhooks may go to loopback, link-local and private addresses
    // (the host's own and its LAN's internal services); no by default.
    bool allowPrivate = false;
};

// The updates repositories of one release: URL templates ({release},
// {arch}); an empty one: the release has none.
struct ReleaseRepos {
    std::string updates;
    std::string updatesTesting;
};

// [repositories] and [release.<name>]: what --updates / --updates-testing
// add, and how much a build's side RPMs may weigh.
struct RepositoriesConfig {
    // The defaults, Fedora's on its primary mirror; [release.<name>]
    // overrides them for one release (rawhide: no updates repositories).
    ReleaseRepos defaults{
        "https://dl.fedoraproject.org/pub/fedora/linux/updates/{release}/Everything/{arch}/",
        "https://dl.fedoraproject.org/pub/fedora/linux/updates/testing/{release}/Everything/"
        "{arch}/"};
    std::map<std::string, ReleaseRepos> releases;
    // All side RPMs of one build together.
    std::uint64_t maxUploadBytes = std::uint64_t{1} << 30;
};

struct Config {
    HostConfig host;
    StagingConfig staging;
    MailConfig mail;
    RetentionConfig retention;
    WebhookConfig webhook;
    RepositoriesConfig repositories;
    std::map<std::string, ImageType> types;
};

// The base URL of release's updates (testing: updates-testing) repository
// for arch, from [release.<release>] or [repositories]; empty: none.
std::string updatesUrlFor(const RepositoriesConfig& repositories, const std::string& release,
                          const std::string& arch, bool testing);

// fileName is only used in messages. Throws ConfigError("file:line: ...").
Config parseConfig(std::string_view text, const std::string& fileName);
Config loadConfig(const std::filesystem::path& path);

// <sysconfdir>/imagebuild/imagebuild.conf: shared by the agent, its helpers
// and the forwarder.
std::filesystem::path defaultConfigPath();

// The types whose tools all exist (looked up with findProgram).
std::vector<std::string> availableTypes(const Config& config);

// Splits a list value ("a b,c") at blanks and commas; empty items dropped.
std::vector<std::string> splitWords(const std::string& value);

// Absolute path of a program in the standard PATH; empty if not found.
// Absolute names are returned as they are if executable.
std::string findProgram(const std::string& name);

}  // namespace imagebuild
