// How a build unit is confined, as plain data (BuildSandbox, computed from
// the image type and the state directory, tested without systemd) and as the
// StartTransientUnit properties that say it (sandboxProperties()).
//
// Two profiles, chosen per image type with `sandbox =` (docs/security.md has
// every setting, why, and the `systemd-analyze security` figures):
//   strict  the static user imagebuild-build, no capabilities, a read-only
//           system, private /tmp, /dev, IPC and users, a system-call
//           allow-list, network only with `network = yes`
//   none    root, for tools that need loop devices and mounts; only the
//           capabilities and system calls those tools use
// Both hide the host's secrets (/etc/imagebuild) and the agent's state
// directory (every other build, its kickstart, its record): only the build's
// own directory is bound back into that place, read-only but for out/ and
// work/. The privileged steps around the build (the chown before, the
// outcome recorder and end-of-build after) skip the sandbox but not the
// mounts: they see the build's directory writable and no other build.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <vector>

#include "agent/state_store.hpp"
#include "common/config.hpp"

namespace imagebuild::agent {

// The user strict builds run as (units/imagebuild.sysusers).
inline constexpr const char* kBuildUser = "imagebuild-build";

struct BuildSandbox {
    Sandbox level = Sandbox::kStrict;
    bool network = false;
    std::string user;                   // strict: kBuildUser; none: empty (root)
    std::string hiddenDir;              // the state directory, behind an empty tmpfs
    std::string buildDir;               // bound back; read-only to the build
    std::vector<std::string> secrets;   // made inaccessible ('-': if it exists)
    std::vector<std::string> writable;  // within buildDir, writable: out/, work/
    std::vector<std::string> handOver;  // privileged argv run first: chown of writable
};

// Throws std::runtime_error if chown(1) is not installed (strict only).
BuildSandbox buildSandboxFor(const ImageType& type, const StateStore& store, const std::string& id);

using UnitProperty = sdbus::Struct<std::string, sdbus::Variant>;
// The properties of the profile, in systemd 252's D-Bus names and types
// (those `systemd-run -p` sends for the same unit-file lines).
std::vector<UnitProperty> sandboxProperties(const BuildSandbox& sandbox);

}  // namespace imagebuild::agent
