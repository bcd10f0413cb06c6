// How the short units around a build are confined: the submission mail and
// the end-of-build step (imagebuild-build-hook), and each webhook post
// (imagebuild-webhook). They run as root, because they read and write the
// build's root-owned directory and hand mail to whatever sendmail the host
// has; they get no more than that needs (docs/security.md has every setting,
// why, and the `systemd-analyze security` figures):
//   webhook  no capabilities, no new privileges, a read-only system but for
//            the build's directory, no other build in sight, the network
//            (IP and local sockets) and nothing else
//   mail     what a sendmail may need: set-uid/set-gid MTAs (exim, postdrop,
//            dma) and their capabilities to switch users and write their
//            spool, /var writable; the network (relays, the bus)
// Neither sees the forwarder's secrets (the tokens file, the fleet token).
#pragma once

#include <string>
#include <vector>

#include "agent/state_store.hpp"
#include "agent/unit_sandbox.hpp"

namespace imagebuild::agent {

enum class HelperProfile { kMail, kWebhook };

struct HelperSandbox {
    HelperProfile profile = HelperProfile::kWebhook;
    std::string hiddenDir;             // webhook: the state directory, behind an empty tmpfs
    std::string buildDir;              // webhook: bound back, writable (its marker)
    std::vector<std::string> secrets;  // made inaccessible ('-': if it exists)
};

HelperSandbox helperSandboxFor(HelperProfile profile, const StateStore& store,
                               const std::string& id);

std::vector<UnitProperty> helperSandboxProperties(const HelperSandbox& sandbox);

}  // namespace imagebuild::agent
