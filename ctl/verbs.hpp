// The verbs, over a Backend. run() is everything main() does: parse, pick
// the transport, run the verb, turn any failure into a sentence and an exit
// code (exit_codes.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ctl/arguments.hpp"
#include "ctl/backend.hpp"

namespace imagebuild::ctl {

// How output looks for this invocation.
struct OutputMode {
    bool json = false;
    bool legend = true;
    bool colors = false;
    bool quiet = false;
};

// Lazily connects: `log` must work with no agent at all.
class Session {
public:
    explicit Session(const GlobalOptions& global);
    Backend& backend();
    bool remote() const { return !global_.host.empty(); }
    const OutputMode& output() const { return output_; }
    // A pager for long output: on a terminal, unless --no-pager/--json/-q.
    bool paging() const { return !global_.noPager && !output_.json && !output_.quiet; }

private:
    GlobalOptions global_;
    OutputMode output_;
    std::unique_ptr<Backend> backend_;
};

int verbBuild(Session& session, const BuildOptions& options);
int verbCancel(Session& session, const std::vector<std::string>& ids);
// Submits a build again (BuildManager1.Retry); --wait/--follow as for build.
int verbRetry(Session& session, const RetryOptions& options);
int verbPin(Session& session, const std::vector<std::string>& ids, bool pinned);
int verbWait(Session& session, const std::vector<std::string>& ids);
int verbList(Session& session, const ListOptions& options);
int verbStatus(Session& session, const std::string& id);
int verbShow(Session& session, const ShowOptions& options);
int verbLog(Session& session, const LogOptions& options);
int verbArtifacts(Session& session, const ArtifactsOptions& options);
int verbHosts(Session& session);

// `imagebuildctl ARGS...`; args excludes argv[0].
int run(const std::vector<std::string>& args);

}  // namespace imagebuild::ctl
