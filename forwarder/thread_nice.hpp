// The threads that write followers' streams (the stream loop, the follow
// hub) run at a lower priority than those that answer requests: when a
// burst of lines keeps them busy, a request such as GET /v1/health is not
// queued behind them for the CPU. Within the forwarder's own cgroup only
// (with the cpu controller, nice weighs threads of one group against each
// other): it takes nothing from anyone else, and an idle forwarder gives
// them all of its time.
#pragma once

namespace imagebuild::forwarder {

inline constexpr int kStreamThreadNice = 10;

// Lowers the calling thread's priority to kStreamThreadNice; a failure is
// logged once and otherwise ignored (the streams work the same).
void lowerThisThreadForStreams();

}  // namespace imagebuild::forwarder
