// The checks a new build passes, Submit's and Retry's alike, before its
// caller is authorized: the host builds it, its repositories exist, its
// uploads are not too large, and the queue and the disks have room. A
// refusal is the caller's answer, a named error, before polkit is asked and
// before anything is read or written. Its side repository (side_repo.hpp)
// is made only after polkit said yes: rpm and createrepo_c run for an
// authorized caller alone. No bus here: the adaptor (manager.cpp) unpacks
// the call and maps the errors; tests/unit/agent/test_build_admission.cpp
// checks every refusal.
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "agent/build_lifecycle.hpp"
#include "agent/side_repo.hpp"
#include "common/build_spec.hpp"

namespace imagebuild::agent {

// Retry's options: only "submitter", checked as Submit's spec key is.
// Throws SpecError.
std::optional<std::string> retrySubmitterOf(const std::map<std::string, sdbus::Variant>& options);

class BuildAdmission {
public:
    // What the host builds is taken from the lifecycle's configuration once.
    explicit BuildAdmission(BuildLifecycle& lifecycle);

    // What this host builds: the types whose tools exist, its arches and
    // releases (BuildManager1's ImageTypes, Arches, Releases).
    const HostCapabilities& capabilities() const { return capabilities_; }

    // A new build of `spec` would be accepted now. Throws UnsupportedError,
    // PackageError or UploadTooLargeError (checkUploadSizes(): fstat only,
    // nothing is read), LifecycleError kQueueFull or kNoSpace.
    void check(const BuildSpec& spec);

    // What a retry of build id by callerUid (in the name of `submitter`, if
    // one is named) would run, checked as a Submit of it is (the type may be
    // gone from this host since), and who owns the old build.
    struct Retry {
        BuildSpec spec;
        std::uint32_t ownerUid = 0;
    };
    // Throws LifecycleError kNotFound or kInternal (no kickstart), and what
    // check() throws.
    Retry checkRetry(const std::string& id, std::uint32_t callerUid,
                     const std::optional<std::string>& submitter);

    // The side repository of spec.rpms (nullopt without any), in the
    // lifecycle's uploads directory. Throws PackageError,
    // UploadTooLargeError, UnsupportedError (rpm or createrepo_c missing),
    // LifecycleError kInternal (a tool failed).
    std::optional<SideRepo> sideRepoOf(const BuildSpec& spec) const;

private:
    BuildLifecycle& lifecycle_;
    HostCapabilities capabilities_;
};

}  // namespace imagebuild::agent
