// Wall-clock time as imagebuild records it everywhere (D-Bus properties,
// build records, JSON): microseconds since the epoch.
#pragma once

#include <cstdint>

namespace imagebuild {

std::uint64_t realtimeUsec();

}  // namespace imagebuild
