#include "agent/helper_sandbox.hpp"

#include "imagebuild_config.h"

#include <linux/capability.h>
#include <sys/mount.h>

#include <cstdint>

namespace imagebuild::agent {

namespace {

using BindPath = sdbus::Struct<std::string, std::string, bool, std::uint64_t>;
using Filter = sdbus::Struct<bool, std::vector<std::string>>;

// A sendmail as root: exim4 switches to its own user, postdrop and dma are
// set-gid and write a spool of their group, and the end-of-build step reads
// a strict build's out/ (the build user's) to stage it.
constexpr std::uint64_t kMailCapabilities = (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID) |
                                            (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) |
                                            (1ULL << CAP_DAC_READ_SEARCH) | (1ULL << CAP_FOWNER) |
                                            (1ULL << CAP_FSETID) | (1ULL << CAP_KILL);

void flags(std::vector<UnitProperty>& p, std::initializer_list<const char*> names) {
    for (const char* name : names) {
        p.emplace_back(name, sdbus::Variant(true));
    }
}

// Both: the kernel, the clock, the host name, devices and /home out of
// reach; the secrets hidden; only native system calls a service makes.
void common(std::vector<UnitProperty>& p, const HelperSandbox& s) {
    p.emplace_back("InaccessiblePaths", sdbus::Variant(s.secrets));
    p.emplace_back("ProtectHome", sdbus::Variant(std::string("yes")));
    flags(p, {"PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules",
              "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
              "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality"});
    p.emplace_back("RestrictNamespaces", sdbus::Variant(std::uint64_t{0}));
    p.emplace_back("SystemCallArchitectures", sdbus::Variant(std::vector<std::string>{"native"}));
    p.emplace_back("SystemCallFilter",
                   sdbus::Variant(Filter(true, std::vector<std::string>{"@system-service"})));
    // IP for the webhook and mail relays, local sockets for the bus (the
    // end-of-build poke) and name lookups.
    p.emplace_back(
        "RestrictAddressFamilies",
        sdbus::Variant(Filter(true, std::vector<std::string>{"AF_UNIX", "AF_INET", "AF_INET6"})));
    p.emplace_back("UMask", sdbus::Variant(std::uint32_t{0077}));
}

// The webhook helper reads imagebuild.conf and the record, writes its marker
// into the build's directory and connects out: nothing else.
void webhook(std::vector<UnitProperty>& p, const HelperSandbox& s) {
    p.emplace_back("CapabilityBoundingSet", sdbus::Variant(std::uint64_t{0}));
    p.emplace_back("AmbientCapabilities", sdbus::Variant(std::uint64_t{0}));
    flags(p, {"NoNewPrivileges", "MemoryDenyWriteExecute", "PrivateIPC", "RemoveIPC"});
    p.emplace_back("ProtectSystem", sdbus::Variant(std::string("strict")));
    p.emplace_back("ProtectProc", sdbus::Variant(std::string("invisible")));
    p.emplace_back("ProcSubset", sdbus::Variant(std::string("pid")));
    p.emplace_back(
        "TemporaryFileSystem",
        sdbus::Variant(std::vector<sdbus::Struct<std::string, std::string>>{{s.hiddenDir, ""}}));
    p.emplace_back(
        "BindPaths",
        sdbus::Variant(std::vector<BindPath>{BindPath(s.buildDir, s.buildDir, false, MS_REC)}));
    p.emplace_back("ReadWritePaths", sdbus::Variant(std::vector<std::string>{s.buildDir}));
    p.emplace_back(
        "SystemCallFilter",
        sdbus::Variant(Filter(false, std::vector<std::string>{"@privileged", "@resources"})));
}

// Not set, because a sendmail needs them: NoNewPrivileges (set-uid exim,
// set-gid postdrop and dma), ProtectSystem=strict (spools under /var),
// MemoryDenyWriteExecute (exim's PCRE JIT), @privileged system calls
// (setgroups, chown of spool files).
void mail(std::vector<UnitProperty>& p) {
    p.emplace_back("CapabilityBoundingSet", sdbus::Variant(kMailCapabilities));
    p.emplace_back("ProtectSystem", sdbus::Variant(std::string("full")));
}

}  // namespace

HelperSandbox helperSandboxFor(HelperProfile profile, const StateStore& store,
                               const std::string& id) {
    HelperSandbox s;
    s.profile = profile;
    s.hiddenDir = store.root().string();
    s.buildDir = store.buildDir(id).string();
    std::string etc = std::string(IMAGEBUILD_SYSCONFDIR) + "/imagebuild";
    s.secrets = {"-" + etc + "/tokens", "-" + etc + "/fleet-token"};
    return s;
}

std::vector<UnitProperty> helperSandboxProperties(const HelperSandbox& sandbox) {
    std::vector<UnitProperty> p;
    common(p, sandbox);
    if (sandbox.profile == HelperProfile::kWebhook) {
        webhook(p, sandbox);
    } else {
        mail(p);
    }
    return p;
}

}  // namespace imagebuild::agent
