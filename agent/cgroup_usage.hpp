// What a unit's processes used, read from its cgroup's files while the
// cgroup still exists (the unit's ExecStopPost= recorder runs in it). Only
// what the host's controllers say: a figure a host cannot give (no memory or
// io controller on the unified hierarchy, as in containers) stays nullopt,
// never 0.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/build_info.hpp"

namespace imagebuild::agent {

// cgroup v2's cpu.stat "usage_usec", io.stat's summed "rbytes"/"wbytes";
// nullopt if the text has none.
std::optional<std::uint64_t> cpuUsecOfCpuStat(std::string_view cpuStat);
std::pair<std::optional<std::uint64_t>, std::optional<std::uint64_t>> bytesOfIoStat(
    std::string_view ioStat);

// The cgroup of this process, from /proc/self/cgroup's text: the unified
// hierarchy's path ("0::/..."), without the "/.control" sub-cgroup systemd
// puts control processes of a delegated unit in. Empty if none.
std::string unifiedCgroupOf(std::string_view procSelfCgroup);

// The figures of the cgroup at path (relative to the unified hierarchy)
// under root, which holds the cgroup2 mount at root/ (unified layout) or
// root/unified (hybrid), and the v1 controllers at root/<controller> for
// what the unified one lacks. wallUsec is left unset.
ResourceUsage readCgroupUsage(const std::filesystem::path& root, const std::string& path);

}  // namespace imagebuild::agent
