// What the agent tells the outside world about a build besides the bus: the
// submission mail and the webhook post of each state. Each goes out from a
// short transient unit of its own (unit_settings.hpp), never from the agent:
// the agent may exit on idle or crash while a slow mail server or webhook
// is retried, and systemd still runs it to the end, logged under the
// build's IMAGEBUILD_ID=. The final mail and webhook of a build whose unit
// ran come from that unit's end-of-build step (build_end.hpp) instead.
#pragma once

#include "agent/build_lifecycle.hpp"
#include "agent/state_store.hpp"
#include "agent/unit_runner.hpp"

namespace imagebuild::agent {

class Notifications final : public LifecycleListener {
public:
    Notifications(const LifecycleOptions& options, const StateStore& store, UnitRunner& units)
        : options_(options), store_(store), units_(units) {}

    void buildQueued(const BuildRecord& record) override;
    void buildStarted(const BuildRecord& record) override { postWebhook(record); }
    void buildFinished(const BuildRecord& record, bool outcomeRecorded) override;
    // The stall mail, once per build.
    void buildStalled(const BuildRecord& record) override;

    // No unit start in flight.
    bool idle() const { return pendingCalls_ == 0; }

private:
    // imagebuild-build-hook's mail unit `settings`, when the build has a
    // notify list and mail is enabled.
    void sendMail(const BuildRecord& record, const UnitSettings& settings, const char* what);
    void postWebhook(const BuildRecord& record);

    const LifecycleOptions& options_;
    const StateStore& store_;
    UnitRunner& units_;
    unsigned pendingCalls_ = 0;
};

}  // namespace imagebuild::agent
