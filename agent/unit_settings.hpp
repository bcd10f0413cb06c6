// Everything the transient unit of one build is made of, as plain data:
// computed from the build, its image type and the host's config, so the
// mapping can be tested without systemd. unit_client.cpp turns it into
// StartTransientUnit's a(sv).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/build_record.hpp"
#include "agent/helper_sandbox.hpp"
#include "agent/state_store.hpp"
#include "agent/unit_sandbox.hpp"
#include "common/config.hpp"

namespace imagebuild::agent {

struct UnitSettings {
    std::string unitName;  // imagebuild-<id>.service
    std::string description;
    std::string slice = "imagebuild.slice";
    std::vector<std::string> execStart;  // argv; [0] is an absolute path
    // The outcome recorder, then (its failure ignored) staging and the final
    // mail; both run even when no agent does, as root outside the sandbox.
    std::vector<std::string> execStopPost;
    std::vector<std::string> execStopPostAfter;
    // OnSuccess=/OnFailure=: the shipped imagebuild-end@ units systemd starts
    // when the build's unit has ended (inactive or failed), agent or no
    // agent, reload or no reload (endUnitsOf()).
    std::vector<std::string> onSuccess;
    std::vector<std::string> onFailure;
    std::string workingDirectory;             // empty: systemd's default (/)
    std::vector<std::string> environment;     // KEY=VALUE
    std::vector<std::string> logExtraFields;  // KEY=VALUE
    // journald's rate limit for this unit; 0: journald's own (10,000 lines
    // in 30 s on Debian, which a build's burst of output exceeds).
    std::uint64_t logRateLimitIntervalUSec = 0;
    std::uint32_t logRateLimitBurst = 0;
    std::uint64_t runtimeMaxUSec = 0;
    std::optional<std::uint64_t> memoryMax;
    std::optional<std::uint64_t> cpuQuotaPerSecUSec;
    std::optional<std::uint64_t> tasksMax;
    // Build units only: how the build is confined (unit_sandbox.hpp).
    std::optional<BuildSandbox> sandbox;
    // The mail, end-of-build and webhook units (helper_sandbox.hpp).
    std::optional<HelperSandbox> helperSandbox;
};

std::string unitNameOf(const std::string& id);

// Where the helpers the units run are installed.
struct HelperPaths {
    std::string recorder;   // imagebuild-record-result
    std::string buildHook;  // imagebuild-build-hook (finished|submitted); empty: none
    std::string webhook;    // imagebuild-webhook URL FILE; empty: none
    // The imagebuild-end@.service and imagebuild-end-failed@.service
    // templates are installed (units/imagebuild-end@.service.in).
    bool endTemplates = false;
};

// The units systemd starts after a build's unit has ended: the first when
// it ended inactive (OnSuccess=), the second when failed (OnFailure=). Two
// units, not one: systemd 252 passes $MONITOR_* to a unit only when a
// single dependency of the ended unit names it.
struct EndUnits {
    std::string afterSuccess;  // imagebuild-end@<id>.service
    std::string afterFailure;  // imagebuild-end-failed@<id>.service
};
EndUnits endUnitsOf(const std::string& id);

// Throws std::runtime_error if the type's program is not installed.
UnitSettings unitSettingsFor(const BuildRecord& record, const ImageType& type, const Config& config,
                             const StateStore& store, const HelperPaths& helpers);

// The short unit that sends a build's submission mail (when it has a
// notify list and mail is enabled).
UnitSettings mailUnitSettingsFor(const BuildRecord& record, const StateStore& store,
                                 const HelperPaths& helpers);
// The one that sends its stall mail (imagebuild-<id>-stall-mail.service).
UnitSettings stallMailUnitSettingsFor(const BuildRecord& record, const StateStore& store,
                                      const HelperPaths& helpers);

// The unit that runs a build's end-of-build step (imagebuild-build-hook
// finished: staging, final mail, log end mark, final webhook) on its own,
// when the build's unit lost its ExecStopPost= to a daemon-reload:
// imagebuild-<id>-end.service.
UnitSettings endOfBuildUnitSettingsFor(const BuildRecord& record, const StateStore& store,
                                       const HelperPaths& helpers);

// The short unit that posts the build's record as it was in `state` (read
// from bodyFile) to url: imagebuild-webhook-<id>-<state>.service.
UnitSettings webhookUnitSettingsFor(const BuildRecord& record, const std::string& state,
                                    const std::string& url, const std::string& bodyFile,
                                    const StateStore& store, const HelperPaths& helpers);

}  // namespace imagebuild::agent
