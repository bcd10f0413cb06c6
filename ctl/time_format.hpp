// Timestamps and durations the way systemctl prints them.
#pragma once

#include <cstdint>
#include <string>

namespace imagebuild::ctl {

// usec since the epoch -> "Thu 2026-11-26 02:40:50 UTC" (local time zone);
// 0 -> "-" (has not happened).
std::string formatTimestamp(std::uint64_t usec);

// A span in usec -> "350ms", "42s", "3min 5s", "2h 4min", "3d 2h".
std::string formatDuration(std::uint64_t usec);

// How long a build ran (or has been running, given now): "-" if not started.
std::string buildDuration(std::uint64_t startedAt, std::uint64_t finishedAt, std::uint64_t now);

}  // namespace imagebuild::ctl
