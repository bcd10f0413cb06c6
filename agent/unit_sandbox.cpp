#include "agent/unit_sandbox.hpp"

#include "imagebuild_config.h"

#include <linux/capability.h>
#include <sys/mount.h>

#include <cstdint>
#include <stdexcept>

namespace imagebuild::agent {

namespace {

using BindPath = sdbus::Struct<std::string, std::string, bool, std::uint64_t>;
using Filter = sdbus::Struct<bool, std::vector<std::string>>;
using ExecCommandEx =
    sdbus::Struct<std::string, std::vector<std::string>, std::vector<std::string>>;

// What lorax, pungi and livemedia-creator do as root: loop devices and
// mounts (SYS_ADMIN), device nodes and files of every owner and mode in the
// image's tree (MKNOD, CHOWN, DAC_*, FOWNER, FSETID, SETFCAP), rpm scriptlets
// in a chroot that switch users (SYS_CHROOT, SETUID, SETGID, KILL). Not:
// modules, raw I/O, ptrace, the clock, reboot, network administration.
constexpr std::uint64_t kRootBuildCapabilities =
    (1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_MKNOD) | (1ULL << CAP_CHOWN) |
    (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_DAC_READ_SEARCH) | (1ULL << CAP_FOWNER) |
    (1ULL << CAP_FSETID) | (1ULL << CAP_SETFCAP) | (1ULL << CAP_SYS_CHROOT) | (1ULL << CAP_SETUID) |
    (1ULL << CAP_SETGID) | (1ULL << CAP_KILL);

std::vector<std::string> addressFamilies(const BuildSandbox& s) {
    std::vector<std::string> families = {"AF_UNIX"};
    if (s.level == Sandbox::kNone) {
        families.emplace_back("AF_NETLINK");  // losetup and udevadm settle
    }
    if (s.network) {
        families.emplace_back("AF_INET");
        families.emplace_back("AF_INET6");
    }
    return families;
}

// Both profiles: the secrets and every other build out of sight, the kernel's
// knobs and logs, the clock and the host name out of reach.
// TemporaryFileSystem= and BindPaths= apply to privileged commands too, so
// the build's directory is bound writable and made read-only with
// ReadOnlyPaths=, which privileged commands skip: the recorder and
// end-of-build write into it, the build only into out/ and work/.
void common(std::vector<UnitProperty>& p, const BuildSandbox& s) {
    auto flag = [&p](const char* name) {
        p.emplace_back(name, sdbus::Variant(true));
    };
    p.emplace_back("InaccessiblePaths", sdbus::Variant(s.secrets));
    p.emplace_back(
        "TemporaryFileSystem",
        sdbus::Variant(std::vector<sdbus::Struct<std::string, std::string>>{{s.hiddenDir, ""}}));
    p.emplace_back(
        "BindPaths",
        sdbus::Variant(std::vector<BindPath>{BindPath(s.buildDir, s.buildDir, false, MS_REC)}));
    p.emplace_back("ReadOnlyPaths", sdbus::Variant(std::vector<std::string>{s.buildDir}));
    p.emplace_back("ReadWritePaths", sdbus::Variant(s.writable));
    p.emplace_back("ProtectHome", sdbus::Variant(std::string("yes")));
    for (const char* name :
         {"PrivateTmp", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
          "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictRealtime",
          "LockPersonality", "RemoveIPC"}) {
        flag(name);
    }
    // network = no is enforced here, on the build's own processes: no IP
    // socket can be made. Not with PrivateNetwork=: the network namespace is
    // the unit's, so it would also cut off end-of-build (the final webhook, a
    // mail relay), which seccomp filters exempt as a privileged command.
    p.emplace_back("RestrictAddressFamilies", sdbus::Variant(Filter(true, addressFamilies(s))));
}

void strict(std::vector<UnitProperty>& p, const BuildSandbox& s) {
    auto flag = [&p](const char* name) {
        p.emplace_back(name, sdbus::Variant(true));
    };
    p.emplace_back("User", sdbus::Variant(s.user));
    p.emplace_back("Group", sdbus::Variant(s.user));
    p.emplace_back("CapabilityBoundingSet", sdbus::Variant(std::uint64_t{0}));
    p.emplace_back("AmbientCapabilities", sdbus::Variant(std::uint64_t{0}));
    p.emplace_back("ProtectSystem", sdbus::Variant(std::string("strict")));
    p.emplace_back("ProtectProc", sdbus::Variant(std::string("invisible")));
    p.emplace_back("ProcSubset", sdbus::Variant(std::string("pid")));
    // RestrictNamespaces= is the set of namespace types still allowed.
    p.emplace_back("RestrictNamespaces", sdbus::Variant(std::uint64_t{0}));
    for (const char* name : {"NoNewPrivileges", "PrivateDevices", "PrivateUsers", "PrivateIPC",
                             "RestrictSUIDSGID", "MemoryDenyWriteExecute"}) {
        flag(name);
    }
    p.emplace_back("SystemCallArchitectures", sdbus::Variant(std::vector<std::string>{"native"}));
    p.emplace_back("SystemCallFilter",
                   sdbus::Variant(Filter(true, std::vector<std::string>{"@system-service"})));
    p.emplace_back(
        "SystemCallFilter",
        sdbus::Variant(Filter(false, std::vector<std::string>{"@privileged", "@resources"})));
    // out/ and work/ become the build user's before it starts; as root,
    // outside the sandbox ("privileged"), since the agent's are root's.
    p.emplace_back("ExecStartPreEx",
                   sdbus::Variant(std::vector<ExecCommandEx>{ExecCommandEx(
                       s.handOver.front(), s.handOver, std::vector<std::string>{"privileged"})}));
}

// Root, for loop devices and mounts. Not set, because the tools need them:
// PrivateDevices (/dev/loop*), NoNewPrivileges (SELinux domain transitions of
// rpm scriptlets; it takes nothing from a root that already holds its
// capabilities), RestrictSUIDSGID (rpm installs set-uid programs into the
// image), MemoryDenyWriteExecute (anaconda's GObject callbacks), native
// system-call architecture (scriptlets of an i686 image), RestrictNamespaces
// (rpm's unshare plugin).
void root(std::vector<UnitProperty>& p) {
    p.emplace_back("CapabilityBoundingSet", sdbus::Variant(kRootBuildCapabilities));
    p.emplace_back("ProtectSystem", sdbus::Variant(std::string("full")));
    p.emplace_back("SystemCallFilter",
                   sdbus::Variant(Filter(false, std::vector<std::string>{
                                                    "@clock", "@cpu-emulation", "@debug", "@module",
                                                    "@obsolete", "@raw-io", "@reboot", "@swap"})));
}

}  // namespace

BuildSandbox buildSandboxFor(const ImageType& type, const StateStore& store,
                             const std::string& id) {
    BuildSandbox s;
    s.level = type.sandbox;
    s.network = type.network;
    s.hiddenDir = store.root().string();
    s.secrets = {std::string("-") + IMAGEBUILD_SYSCONFDIR + "/imagebuild"};
    s.buildDir = store.buildDir(id).string();
    s.writable = {store.outDir(id).string(), store.workDir(id).string()};
    if (s.level == Sandbox::kStrict) {
        s.user = kBuildUser;
        auto chown = findProgram("chown");
        if (chown.empty()) {
            throw std::runtime_error("chown is not installed: strict builds need it");
        }
        s.handOver = {chown, s.user + ":" + s.user};
        s.handOver.insert(s.handOver.end(), s.writable.begin(), s.writable.end());
    }
    return s;
}

std::vector<UnitProperty> sandboxProperties(const BuildSandbox& sandbox) {
    std::vector<UnitProperty> p;
    common(p, sandbox);
    if (sandbox.level == Sandbox::kStrict) {
        strict(p, sandbox);
    } else {
        root(p);
    }
    return p;
}

}  // namespace imagebuild::agent
