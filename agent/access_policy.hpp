// Who may do what: the polkit questions each request to the agent asks, in
// the order they are asked, as data. The adaptor (manager.cpp) asks them
// one after the other (Manager::authorize()) and stops at the first
// refusal, whose `what` it logs. The actions and their defaults are in
// polkit/org.imagebuild.policy; polkit/50-imagebuild.rules grants submit
// and cancel to the imagebuild group, and the forwarder submit-for and
// manage for some verbs (the details' "verb"), so a verb here is part of
// that contract. No bus here: tests/unit/agent/test_access_policy.cpp
// checks every chain.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/build_spec.hpp"

namespace imagebuild::agent {

namespace action {
inline constexpr const char* kSubmit = "org.imagebuild.submit";
inline constexpr const char* kSubmitFor = "org.imagebuild.submit-for";
inline constexpr const char* kCancel = "org.imagebuild.cancel";
inline constexpr const char* kManage = "org.imagebuild.manage";
}  // namespace action

// One polkit question: may the caller do `action` (with `details`, which
// the rules see)? `what` names the request in the log line of a refusal.
struct Authorization {
    const char* action = nullptr;
    std::map<std::string, std::string> details;
    std::string what;
};
using Authorizations = std::vector<Authorization>;

// The questions of each request by the caller `uid`; `owner` is the uid
// that submitted the build asked about. A caller acts on their own build
// with the request's own action, on another's with manage.
namespace access {

// A new build of `spec`: in spec.submitter's name (submit-for) first, so a
// caller who may submit but not in another's name learns which right it
// lacks; then submit; then, for a place ahead of normal builds (priority
// above 0), manage: asked last, so a caller who may not submit learns that.
Authorizations submit(std::uint32_t uid, const BuildSpec& spec);
// A retry of build id, running `spec` (the old build's, its priority
// asked for again), in the name of `submitter` if one is named: as submit,
// with submit for the caller's own build and manage for another's.
Authorizations retry(std::uint32_t uid, const std::string& id, std::uint32_t owner,
                     const BuildSpec& spec, const std::optional<std::string>& submitter);
Authorizations cancel(std::uint32_t uid, const std::string& id, std::uint32_t owner);
// Pinning is cancel's right: both decide how long a build stays.
Authorizations pin(std::uint32_t uid, const std::string& id, std::uint32_t owner, bool pinned);
Authorizations cleanup(std::uint32_t uid);
// A kickstart may hold password hashes: its submitter reads it without a
// question, anyone else needs manage (the forwarder gets it for its admin
// tokens through the rules).
Authorizations readKickstart(std::uint32_t uid, const std::string& id, std::uint32_t owner);

}  // namespace access

}  // namespace imagebuild::agent
