// What the verbs talk to: the local agent over D-Bus (dbus_backend.cpp) or a
// forwarder over HTTP (http_backend.cpp). Both fill the same BuildInfo
// (common/build_info.hpp), so every verb prints the same thing either way.
// Failures are thrown as CtlError with the mapped sentence and exit code.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/build_info.hpp"
#include "common/build_spec.hpp"
#include "common/host_info.hpp"

namespace imagebuild::ctl {

using imagebuild::HostInfo;  // common/host_info.hpp: the JSON of GET /v1/hosts

struct ListResult {
    std::vector<BuildInfo> builds;
    std::vector<std::string> unreachable;  // hosts that did not answer (HTTP only)
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual BuildInfo submit(const BuildSpec& spec) = 0;
    // states empty: every build.
    virtual ListResult list(const std::vector<std::string>& states) = 0;
    // The same, one build at a time, in list order, for callers that need
    // not hold them all (a table of 10,000 builds); returns the hosts that
    // did not answer. newest: only the newest N (still oldest first). The
    // D-Bus backend decodes each row as it hands it on, and asks the agent
    // for pages (ListBuilds' limit), never the whole history at once.
    virtual std::vector<std::string> listEach(const std::vector<std::string>& states,
                                              const std::function<void(BuildInfo&&)>& each,
                                              std::optional<std::uint32_t> newest = {}) {
        auto result = list(states);
        auto skip = newest && result.builds.size() > *newest ? result.builds.size() - *newest : 0;
        for (auto& build : result.builds) {
            if (skip > 0) {
                --skip;
                continue;
            }
            each(std::move(build));
        }
        return result.unreachable;
    }
    virtual BuildInfo get(const std::string& id) = 0;
    virtual void cancel(const std::string& id) = 0;
    // A new build with id's spec (its RetryOf is id); returns the new build.
    virtual BuildInfo retry(const std::string& id) = 0;
    // Pin (keep from cleanup) or unpin a build. D-Bus only: the HTTP
    // backend throws CtlError(kExitUsage).
    virtual void setPinned(const std::string& id, bool pinned) = 0;
    virtual std::vector<HostInfo> hosts() = 0;
    // Blocks until the build has ended; returns what it ended as.
    virtual BuildInfo waitFinished(const std::string& id) = 0;

    // Copies one artifact to destination (a file path), atomically.
    virtual void download(const BuildInfo& build, const Artifact& artifact,
                          const std::string& destination) = 0;

    // Remote backends serve the log themselves (the forwarder's monitor);
    // locally it is read from the journal instead (journal_log.hpp).
    virtual bool servesLog() const { return false; }
    virtual void streamLog(const std::string& id, bool follow,
                           const std::function<void(std::string_view)>& sink) {
        (void)id;
        (void)follow;
        (void)sink;
    }
};

// The local agent on the system bus. interactive: allow polkit to ask the
// user (a terminal agent is started for privileged calls).
std::unique_ptr<Backend> makeDbusBackend(bool interactive);

// A forwarder at url ("http://host:port"); token may be empty.
std::unique_ptr<Backend> makeHttpBackend(const std::string& url, const std::string& token);

// Exit code for a finished build's result: succeeded 0, failed 1,
// cancelled 6, timed-out 7.
int exitCodeForResult(const std::string& result);

}  // namespace imagebuild::ctl
