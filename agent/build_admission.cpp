#include "agent/build_admission.hpp"

#include <fmt/format.h>

#include <exception>

namespace imagebuild::agent {

std::optional<std::string> retrySubmitterOf(const std::map<std::string, sdbus::Variant>& options) {
    std::optional<std::string> submitter;
    for (const auto& [key, value] : options) {
        if (key != "submitter") {
            throw SpecError(key, "unknown Retry option '" + key.substr(0, 64) +
                                     "'; the only option is 'submitter'");
        }
        if (!value.containsValueOfType<std::string>()) {
            throw SpecError(key, "Retry option 'submitter' must be a string (s)");
        }
        submitter = value.get<std::string>();
        if (auto problem = submitterNameProblem(*submitter); !problem.empty()) {
            throw SpecError(key, "Retry option 'submitter' " + problem);
        }
    }
    return submitter;
}

BuildAdmission::BuildAdmission(BuildLifecycle& lifecycle) : lifecycle_(lifecycle) {
    const auto& config = lifecycle_.options().config;
    capabilities_.types = availableTypes(config);
    capabilities_.arches = config.host.arches;
    capabilities_.releases = config.host.releases;
}

// In this order: what the spec asks, then what the host has room for.
void BuildAdmission::check(const BuildSpec& spec) {
    const auto& repositories = lifecycle_.options().config.repositories;
    checkSupported(spec, capabilities_);
    addedRepos(spec, repositories, {});
    checkUploadSizes(spec.rpms, repositories.maxUploadBytes);
    lifecycle_.checkAdmission();
}

BuildAdmission::Retry BuildAdmission::checkRetry(const std::string& id, std::uint32_t callerUid,
                                                 const std::optional<std::string>& submitter) {
    Retry retry;
    retry.ownerUid = lifecycle_.get(id).submitterUid;
    retry.spec = lifecycle_.retrySpec(id, callerUid, submitter);
    check(retry.spec);
    return retry;
}

std::optional<SideRepo> BuildAdmission::sideRepoOf(const BuildSpec& spec) const {
    if (spec.rpms.empty()) {
        return std::nullopt;
    }
    try {
        return SideRepo::fromUploads(spec.rpms, spec.arch,
                                     lifecycle_.options().config.repositories.maxUploadBytes,
                                     lifecycle_.uploadsDir());
    } catch (const PackageError&) {
        throw;
    } catch (const UploadTooLargeError&) {
        throw;
    } catch (const UnsupportedError&) {
        throw;
    } catch (const std::exception& e) {
        throw LifecycleError(LifecycleError::Kind::kInternal,
                             fmt::format("cannot make the side repository: {}", e.what()));
    }
}

}  // namespace imagebuild::agent
