#include "agent/unit_settings.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace imagebuild::agent {

std::string unitNameOf(const std::string& id) {
    return "imagebuild-" + id + ".service";
}

EndUnits endUnitsOf(const std::string& id) {
    return {"imagebuild-end@" + id + ".service", "imagebuild-end-failed@" + id + ".service"};
}

UnitSettings unitSettingsFor(const BuildRecord& record, const ImageType& type, const Config& config,
                             const StateStore& store, const HelperPaths& helpers) {
    const auto& host = config.host;
    const auto& spec = record.spec;
    std::string name = spec.name.empty() ? record.id : spec.name;
    std::map<std::string, std::string> values = {
        {"ks", store.kickstartPath(record.id).string()},
        {"outdir", store.outDir(record.id).string()},
        {"workdir", store.workDir(record.id).string()},
        {"arch", spec.arch},
        {"release", spec.release},
        {"id", record.id},
        {"name", name},
    };
    UnitSettings u;
    u.unitName = unitNameOf(record.id);
    u.description = fmt::format("imagebuild {}: {} image, {} {}", record.id, spec.type, spec.arch,
                                spec.release);
    u.execStart = type.command.substitute(values);
    auto program = findProgram(u.execStart.front());
    if (program.empty()) {
        throw std::runtime_error(fmt::format("image type {}: program {} is not installed",
                                             type.name, u.execStart.front()));
    }
    u.execStart.front() = program;
    auto dir = store.buildDir(record.id).string();
    u.execStopPost = {helpers.recorder, dir};
    if (!helpers.buildHook.empty()) {
        u.execStopPostAfter = {helpers.buildHook, "finished", dir};
    }
    if (helpers.endTemplates) {
        auto ends = endUnitsOf(record.id);
        u.onSuccess = {ends.afterSuccess};
        u.onFailure = {ends.afterFailure};
    }
    u.workingDirectory = values["workdir"];
    for (const auto& [key, value] : values) {
        std::string upper;
        for (char c : key) {
            upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        u.environment.push_back("IMAGEBUILD_" + upper + "=" + value);
    }
    u.environment.push_back("IMAGEBUILD_TYPE=" + spec.type);
    u.logExtraFields = {"IMAGEBUILD_ID=" + record.id, "IMAGEBUILD_TYPE=" + spec.type,
                        "IMAGEBUILD_ARCH=" + spec.arch, "IMAGEBUILD_RELEASE=" + spec.release};
    // Each attempt of a build (a type's retry = infra:N) is its own unit run:
    // `journalctl IMAGEBUILD_ID=<id> IMAGEBUILD_ATTEMPT=<n>` picks one.
    u.logExtraFields.push_back("IMAGEBUILD_ATTEMPT=" + std::to_string(record.attempt));
    // Every line a build writes is its log: a limit journald would only
    // reach if the build wrote faster than journald can store. (An interval
    // of 0 would mean "journald's default", not "no limit".) journald scales
    // the burst up to 24 times by free disk space, in 32 bits.
    u.logRateLimitIntervalUSec = 30'000'000;
    u.logRateLimitBurst = 100'000'000;
    u.runtimeMaxUSec = record.timeoutUSec;
    u.memoryMax = host.memoryMax;
    if (host.cpuQuotaPercent) {
        u.cpuQuotaPerSecUSec = *host.cpuQuotaPercent * 10000;
    }
    u.tasksMax = host.tasksMax;
    u.sandbox = buildSandboxFor(type, store, record.id);
    return u;
}

namespace {

// A short unit of the build's own that runs imagebuild-build-hook VERB on
// its directory, logged under the build's id.
UnitSettings buildHookUnit(const BuildRecord& record, const StateStore& store,
                           const HelperPaths& helpers, const char* verb, const char* unitSuffix,
                           const char* what, std::uint64_t runtimeMaxUSec) {
    UnitSettings u;
    u.unitName = "imagebuild-" + record.id + "-" + unitSuffix + ".service";
    u.description = fmt::format("imagebuild {}: {}", record.id, what);
    u.execStart = {helpers.buildHook, verb, store.buildDir(record.id).string()};
    u.logExtraFields = {"IMAGEBUILD_ID=" + record.id};
    u.runtimeMaxUSec = runtimeMaxUSec;
    u.helperSandbox = helperSandboxFor(HelperProfile::kMail, store, record.id);
    return u;
}

}  // namespace

UnitSettings mailUnitSettingsFor(const BuildRecord& record, const StateStore& store,
                                 const HelperPaths& helpers) {
    return buildHookUnit(record, store, helpers, "submitted", "mail", "submission mail",
                         300'000'000);
}

UnitSettings stallMailUnitSettingsFor(const BuildRecord& record, const StateStore& store,
                                      const HelperPaths& helpers) {
    return buildHookUnit(record, store, helpers, "stalled", "stall-mail", "stall mail",
                         300'000'000);
}

UnitSettings endOfBuildUnitSettingsFor(const BuildRecord& record, const StateStore& store,
                                       const HelperPaths& helpers) {
    // Staging copies and checksums whole images: the limit only catches a hang.
    return buildHookUnit(record, store, helpers, "finished", "end", "end of build", 3600'000'000);
}

UnitSettings webhookUnitSettingsFor(const BuildRecord& record, const std::string& state,
                                    const std::string& url, const std::string& bodyFile,
                                    const StateStore& store, const HelperPaths& helpers) {
    UnitSettings u;
    u.unitName = "imagebuild-webhook-" + record.id + "-" + state + ".service";
    u.description = fmt::format("imagebuild {}: webhook ({})", record.id, state);
    u.execStart = {helpers.webhook, url, bodyFile};
    u.logExtraFields = {"IMAGEBUILD_ID=" + record.id};
    // The helper's own budget is 30 s (agent/webhook.hpp); this only
    // catches a hang.
    u.runtimeMaxUSec = 120'000'000;
    u.helperSandbox = helperSandboxFor(HelperProfile::kWebhook, store, record.id);
    return u;
}

}  // namespace imagebuild::agent
