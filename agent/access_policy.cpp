#include "agent/access_policy.hpp"

#include <fmt/format.h>

namespace imagebuild::agent::access {

namespace {

const char* ownOr(std::uint32_t uid, std::uint32_t owner, const char* own) {
    return uid == owner ? own : action::kManage;
}

// Submit and Retry: `request` names the request ("submit", "retry of ID"),
// `build` holds the details every question of it carries.
Authorizations newBuild(std::uint32_t uid, const char* action, const std::string& request,
                        std::map<std::string, std::string> build, const BuildSpec& spec,
                        const std::optional<std::string>& inNameOf) {
    Authorizations chain;
    if (inNameOf) {
        auto details = build;
        details["submitter"] = *inNameOf;
        chain.push_back(
            {action::kSubmitFor, std::move(details),
             fmt::format("{} by uid {} in the name of \"{}\"", request, uid, *inNameOf)});
    }
    build.insert({{"type", spec.type}, {"arch", spec.arch}, {"release", spec.release}});
    chain.push_back({action, std::move(build), fmt::format("{} by uid {}", request, uid)});
    if (spec.priority > 0) {
        chain.push_back({action::kManage,
                         {{"verb", "priority"}, {"priority", std::to_string(spec.priority)}},
                         fmt::format("priority {} asked by uid {}", spec.priority, uid)});
    }
    return chain;
}

}  // namespace

Authorizations submit(std::uint32_t uid, const BuildSpec& spec) {
    return newBuild(uid, action::kSubmit, "submit", {{"verb", "submit"}}, spec, spec.submitter);
}

Authorizations retry(std::uint32_t uid, const std::string& id, std::uint32_t owner,
                     const BuildSpec& spec, const std::optional<std::string>& submitter) {
    return newBuild(uid, ownOr(uid, owner, action::kSubmit), "retry of " + id,
                    {{"verb", "retry"}, {"id", id}}, spec, submitter);
}

Authorizations cancel(std::uint32_t uid, const std::string& id, std::uint32_t owner) {
    return {
        {ownOr(uid, owner, action::kCancel), {{"verb", "cancel"}, {"id", id}}, "cancel of " + id}};
}

Authorizations pin(std::uint32_t uid, const std::string& id, std::uint32_t owner, bool pinned) {
    std::string verb = pinned ? "pin" : "unpin";
    return {{ownOr(uid, owner, action::kCancel),
             {{"verb", verb}, {"id", id}},
             fmt::format("{} of {}", verb, id)}};
}

Authorizations cleanup(std::uint32_t uid) {
    return {{action::kManage, {{"verb", "cleanup"}}, fmt::format("cleanup by uid {}", uid)}};
}

Authorizations readKickstart(std::uint32_t uid, const std::string& id, std::uint32_t owner) {
    if (uid == owner) {
        return {};
    }
    return {{action::kManage,
             {{"verb", "kickstart"}, {"id", id}},
             fmt::format("kickstart of {} read by uid {}", id, uid)}};
}

}  // namespace imagebuild::agent::access
