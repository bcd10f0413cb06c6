// The stall watcher: one journal reader on the agent's loop for all running
// builds (matched on IMAGEBUILD_ID= and the build's own unit, so the
// agent's and the helpers' lines about a build do not count), feeding a
// StallTracker; its timer is the next build's stall_timeout. A silent build
// is marked stalled in the lifecycle, and its first new line clears that.
// No polling: the loop waits on the journal's fd and that one deadline.
#pragma once

#include <systemd/sd-journal.h>

#include <cstdint>
#include <string>

#include "agent/build_lifecycle.hpp"
#include "agent/event_loop.hpp"
#include "agent/stall_tracker.hpp"

namespace imagebuild::agent {

class StallWatcher final : public LifecycleListener, public LoopSource {
public:
    // Opens the local system journal; without one, stalls are not watched
    // (logged once).
    explicit StallWatcher(BuildLifecycle& lifecycle);
    ~StallWatcher();
    StallWatcher(const StallWatcher&) = delete;
    StallWatcher& operator=(const StallWatcher&) = delete;

    // Which builds are followed is brought up to date on the loop, not in
    // the lifecycle's call (a listener must not call back).
    void buildLoaded(const BuildRecord&) override { dirty_ = true; }
    void buildStarted(const BuildRecord&) override { dirty_ = true; }
    void buildFinished(const BuildRecord&, bool) override { dirty_ = true; }
    void buildRemoved(const std::string&) override { dirty_ = true; }

    int fd() const override;
    short events() const override;
    std::uint64_t deadline() const override;
    void dispatch() override;

private:
    // Follows every running build of a type with a stall_timeout, and no
    // other; the journal's matches follow.
    void sync();
    void rematch();
    // The time of the last line of a build in the journal; 0 if none.
    std::uint64_t lastLineOf(const BuildRecord& record);
    void readNewLines();

    BuildLifecycle& lifecycle_;
    sd_journal* journal_ = nullptr;
    StallTracker tracker_;
    bool dirty_ = true;
};

}  // namespace imagebuild::agent
