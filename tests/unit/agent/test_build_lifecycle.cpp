// The build state machine without a bus or systemd: a fake UnitRunner
// (fake_units.hpp) records what the lifecycle asks of systemd and answers
// when the test says so; the records land in a real StateStore in a
// temporary directory.
#include "agent/build_lifecycle.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/build_registry.hpp"
#include "agent/notifications.hpp"
#include "agent/staging.hpp"
#include "common/atomic_file.hpp"
#include "common/clock.hpp"
#include "tests/unit/agent/fake_units.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild;
using namespace imagebuild::agent;
using imagebuild::testing::FakeUnits;

namespace {

class Events final : public LifecycleListener {
public:
    void buildLoaded(const BuildRecord& r) override { log.push_back("loaded " + r.id); }
    void buildQueued(const BuildRecord& r) override { log.push_back("queued " + r.id); }
    void buildStarted(const BuildRecord& r) override { log.push_back("started " + r.id); }
    void buildFinished(const BuildRecord& r, bool outcome) override {
        log.push_back("finished " + r.id + " " + r.state + (outcome ? " outcome" : ""));
    }
    void buildRemoved(const std::string& id) override { log.push_back("removed " + id); }
    std::vector<std::string> log;
};

constexpr const char* kConfig = R"([host]
arches = x86_64
releases = 40
max_parallel = 1
queue_max = 1
min_free = 0
[type.short]
command = sh -c "exit 0"
[type.flaky]
command = sh -c "exit 0"
retry = infra:2
)";

}  // namespace

class LifecycleTest : public ::testing::Test {
protected:
    LifecycleTest()
        : store_(tree_.root()),
          registry_(store_),
          lifecycle_(std::make_unique<BuildLifecycle>(options(), registry_, units_)) {
        lifecycle_->addListener(events_);
    }

    static LifecycleOptions options(bool endTemplates = false) {
        return {parseConfig(kConfig, "test.conf"), "h",
                HelperPaths{"/usr/libexec/rec", "/usr/libexec/hook", "", endTemplates}};
    }

    // As installed: the build units name imagebuild-end@ and
    // imagebuild-end-failed@ in OnSuccess=/OnFailure=.
    void installEndTemplates() {
        endTemplates_ = true;
        restartAgent();
    }

    // A fresh agent over the same disk, as after a restart.
    void restartAgent() {
        lifecycle_.reset();
        units_.pendingStarts.clear();
        units_.followed.clear();
        events_.log.clear();
        lifecycle_ = std::make_unique<BuildLifecycle>(options(endTemplates_), registry_, units_);
        lifecycle_->addListener(events_);
    }

    std::string submit(const std::string& type = "short") {
        BuildSpec spec;
        spec.type = type;
        spec.arch = "x86_64";
        spec.release = "40";
        spec.kickstart = "lang en_US\n";
        return lifecycle_->submit(spec, 1000).id;
    }

    // What the unit's ExecStopPost= recorder writes.
    void recordOutcome(const std::string& id, const std::string& result,
                       const std::string& exitCode, const std::string& status) {
        writeFileAtomic(store_.buildDir(id) / "outcome",
                        formatOutcome({result, exitCode, status, 1234, {}}));
    }

    // The agent's end-of-build unit starts, runs and ends.
    void endOfBuildRuns(const std::string& unit) {
        units_.answerStart(unit);
        lifecycle_->onUnitState(unit, "active");
        lifecycle_->onUnitState(unit, "inactive");
    }

    // The record as it is on disk, not as it is in memory.
    BuildRecord onDisk(const std::string& id) {
        return recordFromJson(
            nlohmann::json::parse(*readFile(store_.buildDir(id) / "record.json")));
    }

    const BuildRecord& record(const std::string& id) { return lifecycle_->get(id); }

    bool endTemplates_ = false;
    imagebuild::testing::TempTree tree_;
    StateStore store_;
    BuildRegistry registry_;
    FakeUnits units_;
    Events events_;
    std::unique_ptr<BuildLifecycle> lifecycle_;
};

TEST_F(LifecycleTest, SubmitQueuesPersistsAndStartsWhenASlotIsFree) {
    auto id = submit();
    EXPECT_EQ(id, "h-1");
    EXPECT_EQ(units_.started, std::vector<std::string>{"imagebuild-h-1.service"});
    EXPECT_TRUE(units_.followed.count("imagebuild-h-1.service"));
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_EQ(onDisk(id).state, state::kRunning);
    EXPECT_EQ(events_.log, (std::vector<std::string>{"queued h-1", "started h-1"}));
    EXPECT_FALSE(lifecycle_->idle());
}

TEST_F(LifecycleTest, OutcomeOfSuccessEndsSucceeded) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->onUnitState("imagebuild-h-1.service", "active");
    recordOutcome(id, "success", "exited", "0");
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    EXPECT_EQ(record(id).state, state::kSucceeded);
    EXPECT_EQ(record(id).exitStatus, 0);
    EXPECT_EQ(record(id).finishedAt, 1234u);
    EXPECT_EQ(onDisk(id).result, state::kSucceeded);
    EXPECT_EQ(record(id).failureClass, "");
    EXPECT_EQ(events_.log.back(), "finished h-1 succeeded outcome");
    EXPECT_FALSE(units_.followed.count("imagebuild-h-1.service"));
    EXPECT_TRUE(lifecycle_->idle());
}

TEST_F(LifecycleTest, OutcomeOfFailureEndsFailedWithItsStatus) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    recordOutcome(id, "exit-code", "exited", "3");
    lifecycle_->onJobRemoved("imagebuild-h-1.service", "done");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).exitStatus, 3);
    EXPECT_EQ(record(id).reason, "");
    EXPECT_EQ(record(id).failureClass, "build");
    EXPECT_EQ(onDisk(id).failureClass, "build");
}

TEST_F(LifecycleTest, OutcomeOfTimeoutEndsTimedOut) {
    auto id = submit();
    recordOutcome(id, "timeout", "killed", "TERM");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kTimedOut);
    EXPECT_EQ(record(id).exitStatus, 128 + 15);
    EXPECT_EQ(record(id).failureClass, "timeout");
}

TEST_F(LifecycleTest, ProgramThatCannotRunSaysSoInItsReason) {
    auto id = submit();
    recordOutcome(id, "exit-code", "exited", "203");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_NE(record(id).reason.find("status 203/EXEC"), std::string::npos);
}

TEST_F(LifecycleTest, QueuedBuildStartsWhenTheRunningOneEnds) {
    auto first = submit();
    auto second = submit();
    EXPECT_EQ(record(second).state, state::kQueued);
    EXPECT_EQ(lifecycle_->queued(), 1u);
    recordOutcome(first, "success", "exited", "0");
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    EXPECT_EQ(record(second).state, state::kRunning);
    EXPECT_EQ(units_.started.back(), "imagebuild-h-2.service");
}

TEST_F(LifecycleTest, FullQueueIsRefused) {
    submit();
    submit();
    EXPECT_THROW(lifecycle_->checkAdmission(), LifecycleError);
    try {
        submit();
        FAIL() << "a third build fit into max_parallel 1 + queue_max 1";
    } catch (const LifecycleError& e) {
        EXPECT_EQ(e.kind(), LifecycleError::Kind::kQueueFull);
    }
}

TEST_F(LifecycleTest, CancelWhileQueuedNeverStarts) {
    submit();
    auto second = submit();
    bool done = false;
    lifecycle_->cancel(second, [&done] { done = true; });
    EXPECT_TRUE(done);
    EXPECT_EQ(record(second).state, state::kCancelled);
    EXPECT_EQ(onDisk(second).state, state::kCancelled);
    EXPECT_EQ(units_.started.size(), 1u);
    EXPECT_EQ(events_.log.back(), "finished h-2 cancelled");
}

TEST_F(LifecycleTest, CancelWhileRunningStopsTheUnitAndEndsCancelled) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    bool done = false;
    lifecycle_->cancel(id, [&done] { done = true; });
    EXPECT_TRUE(done);
    EXPECT_EQ(units_.stopped, std::vector<std::string>{"imagebuild-h-1.service"});
    // The intent is on disk before the unit is stopped.
    EXPECT_TRUE(onDisk(id).cancelRequested);
    EXPECT_EQ(record(id).state, state::kRunning);
    recordOutcome(id, "signal", "killed", "TERM");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kCancelled);
    EXPECT_EQ(record(id).failureClass, "cancelled");
}

TEST_F(LifecycleTest, CancelOfAFinishedBuildIsRefused) {
    auto id = submit();
    recordOutcome(id, "success", "exited", "0");
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    try {
        lifecycle_->cancel(id, [] {});
        FAIL() << "cancel of a finished build accepted";
    } catch (const LifecycleError& e) {
        EXPECT_EQ(e.kind(), LifecycleError::Kind::kAlreadyFinished);
    }
    EXPECT_THROW(lifecycle_->cancel("h-99", [] {}), LifecycleError);
}

TEST_F(LifecycleTest, StartRefusedBySystemdFailsWithSystemdsError) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service", "org.freedesktop.DBus.Error.InvalidArgs: bad");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_NE(record(id).reason.find("systemd refused to start imagebuild-h-1.service"),
              std::string::npos);
    EXPECT_EQ(record(id).failureClass, "infra");
    EXPECT_EQ(onDisk(id).state, state::kFailed);
    EXPECT_EQ(events_.log.back(), "finished h-1 failed");
}

TEST_F(LifecycleTest, FailedStartJobWithoutOutcomeFailsWithTheJobsResult) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->onJobRemoved("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_NE(record(id).reason.find("ended with result 'failed'"), std::string::npos);
}

TEST_F(LifecycleTest, UnconfiguredTypeFailsToStart) {
    auto id = submit();
    auto r = registry_.find(id);
    ASSERT_NE(r, nullptr);
    recordOutcome(id, "success", "exited", "0");
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    // A second build of a type the config no longer has.
    BuildSpec spec;
    spec.type = "gone";
    spec.arch = "x86_64";
    spec.release = "40";
    auto second = lifecycle_->submit(spec, 0).id;
    EXPECT_EQ(record(second).state, state::kFailed);
    EXPECT_NE(record(second).reason.find("no longer configured"), std::string::npos);
}

TEST_F(LifecycleTest, PinIsPersisted) {
    auto id = submit();
    lifecycle_->setPinned(id, true);
    EXPECT_TRUE(onDisk(id).pinned);
    EXPECT_THROW(lifecycle_->setPinned("h-42", true), LifecycleError);
}

TEST_F(LifecycleTest, ReconcileQueuesAgainWhatWasQueued) {
    submit();
    auto second = submit();
    restartAgent();
    units_.states["imagebuild-h-1.service"] = "active";
    lifecycle_->reconcile();
    EXPECT_EQ(events_.log[0], "loaded h-1");
    EXPECT_EQ(record("h-1").state, state::kRunning);
    EXPECT_TRUE(units_.followed.count("imagebuild-h-1.service"));
    EXPECT_EQ(record(second).state, state::kQueued);
    EXPECT_EQ(lifecycle_->queued(), 1u);
}

TEST_F(LifecycleTest, ReconcileFinishesWhatEndedWhileNoAgentRan) {
    auto id = submit();
    restartAgent();
    recordOutcome(id, "success", "exited", "0");
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kSucceeded);
    EXPECT_EQ(onDisk(id).state, state::kSucceeded);
}

TEST_F(LifecycleTest, ReconcileFollowsAQueuedRecordWhoseUnitSystemdHas) {
    // "running" was lost (a power cut before the record reached the disk)
    // after systemd had the unit.
    auto id = submit();
    auto r = *registry_.find(id);
    r.state = state::kQueued;
    store_.save(r);
    restartAgent();
    units_.states["imagebuild-h-1.service"] = "active";
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_EQ(onDisk(id).state, state::kRunning);
    EXPECT_TRUE(units_.started.size() == 1u);  // not started a second time
}

TEST_F(LifecycleTest, ReconcileLeavesFinishedBuildsAlone) {
    auto id = submit();
    recordOutcome(id, "exit-code", "exited", "1");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    restartAgent();
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(units_.started.size(), 1u);
    EXPECT_TRUE(lifecycle_->idle());
}

// The recorder has written the outcome, but the unit's end-of-build step is
// still staging when the agent restarts: the build ends with the unit.
TEST_F(LifecycleTest, ReconcileFollowsAUnitStillDeactivatingWithItsOutcome) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    recordOutcome(id, "success", "exited", "0");
    restartAgent();
    units_.states["imagebuild-h-1.service"] = "deactivating";
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kRunning);
    units_.loaded.insert("imagebuild-h-1.service");
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");  // a reload meanwhile
    EXPECT_EQ(record(id).state, state::kRunning);
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    EXPECT_EQ(record(id).state, state::kSucceeded);
}

TEST_F(LifecycleTest, UnitRemovedDuringAReloadChangesNothing) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->onUnitState("imagebuild-h-1.service", "active");
    units_.loaded.insert("imagebuild-h-1.service");  // back after the reload
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");
    EXPECT_EQ(units_.checked, std::vector<std::string>{"imagebuild-h-1.service"});
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_EQ(onDisk(id).state, state::kRunning);
    EXPECT_TRUE(units_.followed.count("imagebuild-h-1.service"));
}

TEST_F(LifecycleTest, UnitConfirmedGoneWithoutOutcomeFails) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_NE(record(id).reason.find("ended without recording an outcome"), std::string::npos);
    EXPECT_FALSE(store_.readOutcome(id));
    EXPECT_EQ(units_.started, std::vector<std::string>{"imagebuild-h-1.service"});
}

// A daemon-reload dropped the unit's ExecStopPost=: no outcome file, but the
// agent saw systemd record the end.
TEST_F(LifecycleTest, EndSeenFromSystemdWithoutOutcomeFileIsRecordedAndEndsTheBuild) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->onUnitState("imagebuild-h-1.service", "active");
    units_.ends["imagebuild-h-1.service"] = {"success", "exited", "0", 0, {}};
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    // The end-of-build step runs on its own, since the unit's went too; the
    // build ends once it has (it stages and marks the log's end).
    EXPECT_EQ(units_.started,
              (std::vector<std::string>{"imagebuild-h-1.service", "imagebuild-h-1-end.service"}));
    EXPECT_EQ(record(id).state, state::kRunning);
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");  // collected: still not over
    EXPECT_EQ(record(id).state, state::kRunning);
    endOfBuildRuns("imagebuild-h-1-end.service");
    EXPECT_EQ(record(id).state, state::kSucceeded);
    EXPECT_EQ(record(id).exitStatus, 0);
    EXPECT_EQ(record(id).reason, "");
    EXPECT_EQ(onDisk(id).state, state::kSucceeded);
    auto outcome = store_.readOutcome(id);
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->serviceResult, "success");
    EXPECT_EQ(outcome->exitCode, "exited");
    EXPECT_EQ(outcome->exitStatus, "0");
    EXPECT_NE(outcome->finishedAt, 0u);
    EXPECT_EQ(events_.log.back(), "finished h-1 succeeded outcome");
}

// What the end-of-build unit staged becomes the record's artifacts; the
// agent is not idle until then.
TEST_F(LifecycleTest, EndOfBuildUnitStartedByTheAgentHandsOverTheStagedArtifacts) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    units_.ends["imagebuild-h-1.service"] = {"success", "exited", "0", 0, {}};
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");
    ASSERT_EQ(record(id).state, state::kRunning);
    const std::string end = "imagebuild-h-1-end.service";
    units_.answerStart(end);
    EXPECT_TRUE(units_.followed.count(end));
    EXPECT_FALSE(lifecycle_->idle());
    lifecycle_->onUnitState(end, "inactive");  // before it starts: not its end
    EXPECT_FALSE(lifecycle_->idle());
    lifecycle_->onUnitState(end, "active");
    StagingResult staged;
    staged.files.push_back({"disk.iso", "/srv/staging/h-1/disk.iso", 5, "abc"});
    saveStagingResult(store_.buildDir(id), staged);
    lifecycle_->onUnitState(end, "inactive");
    EXPECT_TRUE(lifecycle_->idle());
    EXPECT_FALSE(units_.followed.count(end));
    EXPECT_EQ(record(id).state, state::kSucceeded);
    ASSERT_EQ(record(id).artifacts.size(), 1u);
    EXPECT_EQ(record(id).artifacts[0].name, "disk.iso");
    ASSERT_EQ(onDisk(id).artifacts.size(), 1u);
}

// A daemon-reload dropped the unit's ExecStopPost=, not its OnSuccess=:
// systemd runs imagebuild-end@, which records the outcome and stages; the
// agent starts no end-of-build unit of its own, and the build ends when
// imagebuild-end@ has.
TEST_F(LifecycleTest, EndUnitStartedBySystemdRecordsAndStagesTheEnd) {
    installEndTemplates();
    auto id = submit();
    const std::string unit = "imagebuild-h-1.service";
    units_.answerStart(unit);
    lifecycle_->onUnitState(unit, "active");
    units_.ends[unit] = {"success", "exited", "0", 0, {}};
    lifecycle_->onUnitState(unit, "inactive");
    EXPECT_EQ(units_.started, std::vector<std::string>{unit});
    EXPECT_TRUE(units_.followed.count("imagebuild-end@h-1.service"));
    EXPECT_TRUE(units_.followed.count("imagebuild-end-failed@h-1.service"));
    EXPECT_FALSE(store_.readOutcome(id));  // not written by the agent
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_FALSE(lifecycle_->idle());
    lifecycle_->onUnitRemoved(unit);  // collected: still not over
    EXPECT_EQ(record(id).state, state::kRunning);
    const std::string end = "imagebuild-end@h-1.service";
    lifecycle_->onUnitState(end, "inactive");  // its job is queued: not its end
    EXPECT_EQ(record(id).state, state::kRunning);
    lifecycle_->onUnitState(end, "activating");
    recordOutcome(id, "success", "exited", "0");
    StagingResult staged;
    staged.files.push_back({"disk.iso", "/srv/staging/h-1/disk.iso", 5, "abc"});
    saveStagingResult(store_.buildDir(id), staged);
    lifecycle_->onUnitState(end, "inactive");
    EXPECT_EQ(record(id).state, state::kSucceeded);
    EXPECT_EQ(record(id).exitStatus, 0);
    ASSERT_EQ(record(id).artifacts.size(), 1u);
    EXPECT_EQ(events_.log.back(), "finished h-1 succeeded outcome");
    EXPECT_TRUE(lifecycle_->idle());
    EXPECT_FALSE(units_.followed.count("imagebuild-end@h-1.service"));
    EXPECT_FALSE(units_.followed.count("imagebuild-end-failed@h-1.service"));
    EXPECT_EQ(units_.started, std::vector<std::string>{unit});
}

// Cancelled while its start job ran: the unit never ran, so no
// imagebuild-end@ unit will: nothing to wait for.
TEST_F(LifecycleTest, UnitStoppedBeforeItRanIsNotWaitedFor) {
    installEndTemplates();
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->cancel(id, [] {});
    lifecycle_->onJobRemoved("imagebuild-h-1.service", "canceled");
    EXPECT_EQ(record(id).state, state::kCancelled);
    EXPECT_FALSE(units_.followed.count("imagebuild-end@h-1.service"));
    EXPECT_TRUE(lifecycle_->idle());
}

// imagebuild-end-failed@ could not record the end (no $MONITOR_* to read):
// the agent records what it saw and runs the end-of-build step itself.
TEST_F(LifecycleTest, EndUnitThatRecordedNothingLeavesTheEndToTheAgent) {
    installEndTemplates();
    auto id = submit();
    const std::string unit = "imagebuild-h-1.service";
    units_.answerStart(unit);
    units_.ends[unit] = {"exit-code", "exited", "3", 0, {}};
    lifecycle_->onUnitRemoved(unit);
    const std::string end = "imagebuild-end-failed@h-1.service";
    lifecycle_->onUnitState(end, "activating");
    lifecycle_->onUnitState(end, "failed");
    ASSERT_TRUE(store_.readOutcome(id));
    EXPECT_EQ(store_.readOutcome(id)->exitStatus, "3");
    EXPECT_EQ(units_.started.back(), "imagebuild-h-1-end.service");
    endOfBuildRuns("imagebuild-h-1-end.service");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).exitStatus, 3);
    EXPECT_TRUE(lifecycle_->idle());
}

// An agent started while imagebuild-end@ still stages (its outcome written):
// the build ends when that unit has, with what it staged.
TEST_F(LifecycleTest, ReconcileFollowsAnEndUnitStillRunning) {
    installEndTemplates();
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    recordOutcome(id, "success", "exited", "0");
    restartAgent();
    units_.states["imagebuild-end@h-1.service"] = "activating";
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_TRUE(units_.followed.count("imagebuild-end@h-1.service"));
    lifecycle_->onUnitState("imagebuild-end@h-1.service", "inactive");
    EXPECT_EQ(record(id).state, state::kSucceeded);
    EXPECT_TRUE(lifecycle_->idle());
}

// The unit ended while no agent ran and nothing recorded its outcome, but
// systemd still has it: its end is asked of systemd, not called unknown.
TEST_F(LifecycleTest, ReconcileAsksSystemdHowAnEndedUnitEnded) {
    auto id = submit();
    const std::string unit = "imagebuild-h-1.service";
    units_.answerStart(unit);
    restartAgent();
    units_.states[unit] = "failed";
    units_.endsKnownToSystemd[unit] = {"exit-code", "exited", "4", 0, {}};
    lifecycle_->reconcile();
    EXPECT_EQ(units_.recalled, std::vector<std::string>{unit});
    endOfBuildRuns("imagebuild-h-1-end.service");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).exitStatus, 4);
    EXPECT_EQ(record(id).reason, "");
    ASSERT_TRUE(store_.readOutcome(id));
    EXPECT_EQ(store_.readOutcome(id)->serviceResult, "exit-code");
}

TEST_F(LifecycleTest, FailureSeenFromSystemdOnAGoneUnitEndsFailedWithItsStatus) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    units_.ends["imagebuild-h-1.service"] = {"signal", "killed", "KILL", 0, {}};
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");
    EXPECT_EQ(units_.started.back(), "imagebuild-h-1-end.service");
    endOfBuildRuns("imagebuild-h-1-end.service");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).exitStatus, 137);
    EXPECT_EQ(record(id).reason, "");
    ASSERT_TRUE(store_.readOutcome(id));
    EXPECT_EQ(store_.readOutcome(id)->exitStatus, "KILL");
}

TEST_F(LifecycleTest, RecordedOutcomeWinsOverTheEndSeenFromSystemd) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->onUnitState("imagebuild-h-1.service", "active");
    units_.ends["imagebuild-h-1.service"] = {"success", "exited", "0", 0, {}};
    recordOutcome(id, "exit-code", "exited", "2");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).exitStatus, 2);
    EXPECT_EQ(units_.started, std::vector<std::string>{"imagebuild-h-1.service"});
}

// The recorder ran, but a reload during the unit's stop-post steps removed
// it while its end-of-build step still stages: only a unit really gone ends
// the build.
TEST_F(LifecycleTest, UnitRemovedAfterItsOutcomeIsStillAskedAbout) {
    auto id = submit();
    recordOutcome(id, "success", "exited", "0");
    units_.loaded.insert("imagebuild-h-1.service");
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");
    EXPECT_EQ(units_.checked, std::vector<std::string>{"imagebuild-h-1.service"});
    EXPECT_EQ(record(id).state, state::kRunning);
    units_.loaded.erase("imagebuild-h-1.service");
    lifecycle_->onUnitRemoved("imagebuild-h-1.service");
    EXPECT_EQ(record(id).state, state::kSucceeded);
}

TEST_F(LifecycleTest, RunningBuildWhoseHostRestartedIsInterruptedNotRerun) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    tree_.write("builds/h-1/out/partial.iso", "half an image");
    restartAgent();
    units_.hostStart = record(id).startedAt + 1;  // systemd started after the build
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).reason, "interrupted: host restarted while running");
    EXPECT_TRUE(record(id).artifacts.empty());
    EXPECT_EQ(onDisk(id).reason, "interrupted: host restarted while running");
    EXPECT_TRUE(std::filesystem::exists(store_.outDir(id) / "partial.iso"));
    EXPECT_EQ(units_.started.size(), 1u);  // never started again
    EXPECT_EQ(lifecycle_->queued(), 0u);
}

TEST_F(LifecycleTest, RunningBuildWhoseUnitVanishedIsInterrupted) {
    auto id = submit();
    restartAgent();
    units_.hostStart = 1;  // the same boot
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).reason,
              "interrupted: imagebuild-h-1.service vanished without recording an outcome");
    EXPECT_EQ(units_.started.size(), 1u);
}

TEST_F(LifecycleTest, ReconcileOfAFailedRunIsNotRerunAfterItsOutcome) {
    auto id = submit();
    recordOutcome(id, "signal", "killed", "TERM");  // a clean shutdown stopped it
    restartAgent();
    units_.hostStart = record(id).startedAt + 1;
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).exitStatus, 143);
    EXPECT_EQ(units_.started.size(), 1u);
}

// A record that cannot be written (a full disk; here a directory where the
// record should go) is kept in memory, refuses new builds with NoSpace, and
// is written once it can be: the agent stays until then.
TEST_F(LifecycleTest, FailedRecordWriteIsKeptInMemoryAndRefusesSubmit) {
    auto id = submit();
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->onUnitState("imagebuild-h-1.service", "active");
    recordOutcome(id, "exit-code", "exited", "1");
    auto record_json = store_.buildDir(id) / "record.json";
    std::filesystem::remove(record_json);
    std::filesystem::create_directories(record_json / "blocked");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kFailed);  // the truth, in memory
    EXPECT_FALSE(lifecycle_->idle());             // not lost to an idle exit
    try {
        lifecycle_->checkAdmission();
        FAIL() << "a build was admitted while records cannot be written";
    } catch (const LifecycleError& e) {
        EXPECT_EQ(e.kind(), LifecycleError::Kind::kNoSpace);
        EXPECT_NE(std::string(e.what()).find("cannot write build records on /"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find(" free)"), std::string::npos) << e.what();
    }
    EXPECT_THROW(submit(), LifecycleError);
    std::filesystem::remove_all(record_json);
    lifecycle_->retryUnsavedRecords();
    EXPECT_EQ(onDisk(id).state, state::kFailed);
    EXPECT_TRUE(lifecycle_->idle());
    EXPECT_NO_THROW(lifecycle_->checkAdmission());
    EXPECT_EQ(units_.started.size(), 1u);
}

TEST_F(LifecycleTest, SubmitBelowMinFreeIsRefusedWithBothFigures) {
    auto config = options();
    config.config.host.minFreeBytes = std::uint64_t{1} << 60;  // 1E: more than any disk
    lifecycle_ = std::make_unique<BuildLifecycle>(std::move(config), registry_, units_);
    try {
        submit();
        FAIL() << "admitted below min_free";
    } catch (const LifecycleError& e) {
        std::string message = e.what();
        EXPECT_EQ(e.kind(), LifecycleError::Kind::kNoSpace);
        EXPECT_NE(message.find("not enough free space on /"), std::string::npos) << message;
        EXPECT_NE(message.find(" free, 1.0E needed ([host] min_free)"), std::string::npos)
            << message;
    }
    EXPECT_EQ(registry_.size(), 0u);
}

// "running" never reached the disk (a full disk), but the build was
// started: a later agent fails it as interrupted, never runs it again.
TEST_F(LifecycleTest, QueuedRecordOfAStartedBuildIsNeverRunAgain) {
    auto id = submit();
    auto r = *registry_.find(id);
    r.state = state::kQueued;
    store_.save(r);
    EXPECT_TRUE(store_.wasStarted(id));
    restartAgent();
    units_.hostStart = 1;
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_NE(record(id).reason.find("interrupted: "), std::string::npos);
    EXPECT_EQ(units_.started.size(), 1u);
    EXPECT_EQ(lifecycle_->queued(), 0u);
}

TEST_F(LifecycleTest, RetryOfAnInterruptedBuildIsANewBuildLinkedToIt) {
    BuildSpec spec;
    spec.type = "short";
    spec.arch = "x86_64";
    spec.release = "40";
    spec.name = "nightly";
    spec.labels = {{"team", "os"}};
    spec.kickstart = "lang de_DE\n";
    auto old = lifecycle_->submit(spec, 1000).id;
    units_.answerStart("imagebuild-h-1.service");
    tree_.write("builds/h-1/out/partial.iso", "half an image");
    restartAgent();
    units_.hostStart = record(old).startedAt + 1;
    lifecycle_->reconcile();
    auto before = onDisk(old);
    ASSERT_EQ(before.state, state::kFailed);

    auto id = lifecycle_->retry(old, 1000).id;
    EXPECT_EQ(id, "h-2");
    EXPECT_EQ(record(id).retryOf, old);
    EXPECT_EQ(onDisk(id).retryOf, old);
    EXPECT_EQ(record(id).spec.name, "nightly");
    EXPECT_EQ(record(id).spec.labels, (std::map<std::string, std::string>{{"team", "os"}}));
    EXPECT_EQ(store_.readKickstart(id), "lang de_DE\n");
    EXPECT_EQ(record(id).submitter, record(old).submitter);
    EXPECT_EQ(units_.started.back(), "imagebuild-h-2.service");
    // Its own output directory; the old one, its partial output and its
    // record stay as they were.
    EXPECT_NE(store_.outDir(id), store_.outDir(old));
    EXPECT_FALSE(std::filesystem::exists(store_.outDir(id) / "partial.iso"));
    EXPECT_TRUE(std::filesystem::exists(store_.outDir(old) / "partial.iso"));
    EXPECT_EQ(recordToJson(onDisk(old)), recordToJson(before));
    EXPECT_TRUE(onDisk(old).retryOf.empty());
}

// A forwarder retrying for a token: the new build is the token's, whoever
// submitted the old one (the caller was authorized to name a submitter).
TEST_F(LifecycleTest, RetryInANamedSubmittersNameIsTheirs) {
    auto old = submit();  // uid 1000's own
    auto id = lifecycle_->retry(old, 1000, std::string("ops")).id;
    EXPECT_EQ(record(id).submitter, "ops");
    EXPECT_EQ(onDisk(id).submitter, "ops");
    EXPECT_EQ(record(id).submitterUid, 1000u);
    EXPECT_EQ(record(id).retryOf, old);
}

TEST_F(LifecycleTest, RetryByAnotherUserIsTheirs) {
    auto old = submit();
    auto id = lifecycle_->retry(old, 0).id;
    EXPECT_EQ(record(id).submitterUid, 0u);
    EXPECT_EQ(record(id).submitter, userNameOf(0));
    EXPECT_EQ(record(id).retryOf, old);
}

TEST_F(LifecycleTest, RetryOfAnUnknownBuildIsNotFound) {
    try {
        lifecycle_->retry("h-99", 1000);
        FAIL() << "retry of an unknown build succeeded";
    } catch (const LifecycleError& e) {
        EXPECT_EQ(e.kind(), LifecycleError::Kind::kNotFound);
    }
}

TEST_F(LifecycleTest, RetryIsRefusedWhenTheQueueIsFull) {
    auto old = submit();  // running
    submit();             // queued: queue_max 1 is reached
    try {
        lifecycle_->retry(old, 1000);
        FAIL() << "retry past queue_max was accepted";
    } catch (const LifecycleError& e) {
        EXPECT_EQ(e.kind(), LifecycleError::Kind::kQueueFull);
    }
}

// The final webhook goes out once: from the end-of-build step, whose marker
// says so, or else from the agent (an end the step could not record, a
// build whose unit never ran) — never from both.
TEST_F(LifecycleTest, FinalWebhookIsPostedByTheAgentOnlyWhenTheEndOfBuildStepDidNot) {
    auto options = LifecycleTest::options();
    options.config.webhook.url = "http://hooks.example/h";
    options.helpers.webhook = "/usr/libexec/webhook";
    Notifications notifications(options, store_, units_);
    auto id = submit();
    BuildRecord finished = record(id);
    finished.state = finished.result = state::kFailed;
    writeFileAtomic(store_.buildDir(id) / "webhook-finished", "delivered\n");
    notifications.buildFinished(finished, false);  // its outcome could not be written
    EXPECT_EQ(units_.started, std::vector<std::string>{"imagebuild-h-1.service"});
    std::filesystem::remove(store_.buildDir(id) / "webhook-finished");
    notifications.buildFinished(finished, true);
    EXPECT_EQ(units_.started.back(), "imagebuild-webhook-h-1-failed.service");
}

// --- Attempts: a type's retry = infra:N ------------------------------------------

TEST_F(LifecycleTest, ResourcesOfTheOutcomeAreRecordedWithWallTime) {
    auto id = submit();
    auto started = record(id).startedAt;
    UnitOutcome o{"success", "exited", "0", started + 5'000'000, {}};
    o.resources.cpuUsec = 1500;
    writeFileAtomic(store_.buildDir(id) / "outcome", formatOutcome(o));
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    EXPECT_EQ(record(id).resources.cpuUsec, 1500u);
    EXPECT_EQ(record(id).resources.wallUsec, 5'000'000u);
    EXPECT_FALSE(record(id).resources.memoryPeakBytes);
    EXPECT_EQ(onDisk(id).resources, record(id).resources);
}

TEST_F(LifecycleTest, InfraFailureOfARetryingTypeRunsAgainAsTheNextAttempt) {
    auto id = submit("flaky");
    const std::string unit = "imagebuild-h-1.service";
    units_.answerStart(unit);
    lifecycle_->onUnitState(unit, "active");
    recordOutcome(id, "signal", "killed", "KILL");
    units_.loaded.insert(unit);  // not collected yet: its name is not free
    lifecycle_->onUnitState(unit, "failed");
    EXPECT_EQ(record(id).state, state::kQueued);
    EXPECT_EQ(record(id).attempt, 2u);
    ASSERT_EQ(record(id).attempts.size(), 1u);
    EXPECT_EQ(record(id).attempts[0].state, state::kFailed);
    EXPECT_EQ(record(id).attempts[0].failureClass, "infra");
    EXPECT_EQ(onDisk(id).attempt, 2u);
    // The ended attempt's outcome is kept under its number; the next
    // attempt starts as a queued build does.
    EXPECT_TRUE(readFile(store_.buildDir(id) / "outcome.1"));
    EXPECT_FALSE(store_.readOutcome(id));
    EXPECT_FALSE(store_.wasStarted(id));
    EXPECT_EQ(units_.started.size(), 1u);
    EXPECT_FALSE(lifecycle_->idle());
    EXPECT_NE(events_.log.back(), "finished h-1 failed outcome");
    // The ended unit's OnFailure= unit records its end once more, late.
    recordOutcome(id, "signal", "killed", "KILL");
    // systemd collects the unit: the same name runs attempt 2, and that
    // late outcome is not taken for attempt 2's.
    units_.loaded.erase(unit);
    lifecycle_->onUnitRemoved(unit);
    EXPECT_EQ(units_.started, (std::vector<std::string>{unit, unit}));
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_FALSE(store_.readOutcome(id));
    lifecycle_->onUnitState(unit, "inactive");  // before it starts
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_EQ(record(id).attempt, 2u);
    units_.answerStart(unit);
    recordOutcome(id, "signal", "killed", "KILL");
    lifecycle_->onUnitState(unit, "failed");
    EXPECT_EQ(record(id).attempt, 3u);
    EXPECT_EQ(units_.started.size(), 3u);
    units_.answerStart(unit);
    // Attempt 3 of infra:2 is the last: its failure is the build's.
    recordOutcome(id, "signal", "killed", "KILL");
    lifecycle_->onUnitState(unit, "failed");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).failureClass, "infra");
    EXPECT_EQ(record(id).attempt, 3u);
    EXPECT_EQ(record(id).attempts.size(), 2u);
    EXPECT_EQ(events_.log.back(), "finished h-1 failed outcome");
    EXPECT_EQ(units_.started.size(), 3u);
    EXPECT_TRUE(lifecycle_->idle());
}

TEST_F(LifecycleTest, BuildFailureOfARetryingTypeIsNotRunAgain) {
    auto id = submit("flaky");
    recordOutcome(id, "exit-code", "exited", "1");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).failureClass, "build");
    EXPECT_EQ(record(id).attempt, 1u);
    EXPECT_TRUE(record(id).attempts.empty());
    EXPECT_EQ(units_.started.size(), 1u);
}

TEST_F(LifecycleTest, InfraFailureOfATypeWithoutRetryEndsTheBuild) {
    auto id = submit();
    recordOutcome(id, "signal", "killed", "KILL");
    lifecycle_->onUnitState("imagebuild-h-1.service", "failed");
    EXPECT_EQ(record(id).state, state::kFailed);
    EXPECT_EQ(record(id).failureClass, "infra");
    EXPECT_EQ(units_.started.size(), 1u);
}

TEST_F(LifecycleTest, CancelBetweenTwoAttemptsEndsCancelledAndNothingStarts) {
    auto id = submit("flaky");
    const std::string unit = "imagebuild-h-1.service";
    units_.answerStart(unit);
    recordOutcome(id, "signal", "killed", "KILL");
    units_.loaded.insert(unit);
    lifecycle_->onUnitState(unit, "failed");
    ASSERT_EQ(record(id).attempt, 2u);
    lifecycle_->cancel(id, [] {});
    EXPECT_EQ(record(id).state, state::kCancelled);
    units_.loaded.erase(unit);
    lifecycle_->onUnitRemoved(unit);
    EXPECT_EQ(units_.started.size(), 1u);
    EXPECT_TRUE(lifecycle_->idle());
}

TEST_F(LifecycleTest, InterruptedAttemptOfARetryingTypeRunsAgainAfterARestart) {
    auto id = submit("flaky");
    units_.answerStart("imagebuild-h-1.service");
    restartAgent();
    units_.hostStart = record(id).startedAt + 1;  // the host came up after it started
    lifecycle_->reconcile();
    EXPECT_EQ(record(id).attempt, 2u);
    EXPECT_EQ(record(id).attempts.at(0).reason, "interrupted: host restarted while running");
    EXPECT_EQ(record(id).attempts.at(0).failureClass, "infra");
    EXPECT_EQ(record(id).state, state::kRunning);
    EXPECT_EQ(units_.started.size(), 2u);
}

// --- Priorities and stalls ------------------------------------------------------

class QueueTest : public LifecycleTest {
protected:
    QueueTest() { restartWith(queueOptions()); }

    static LifecycleOptions queueOptions() {
        auto o = LifecycleTest::options();
        o.config.host.queueMax = 10;
        return o;
    }

    void restartWith(LifecycleOptions o) {
        lifecycle_.reset();
        units_.pendingStarts.clear();
        events_.log.clear();
        lifecycle_ = std::make_unique<BuildLifecycle>(std::move(o), registry_, units_);
        lifecycle_->addListener(events_);
    }

    std::string submitWith(std::int32_t priority) {
        BuildSpec spec;
        spec.type = "short";
        spec.arch = "x86_64";
        spec.release = "40";
        spec.kickstart = "lang en_US\n";
        spec.priority = priority;
        return lifecycle_->submit(spec, 1000).id;
    }

    // The running build ends; the next queued one starts.
    void endRunning(const std::string& id) {
        auto unit = "imagebuild-" + id + ".service";
        if (units_.pendingStarts.count(unit)) {
            units_.answerStart(unit);
        }
        recordOutcome(id, "success", "exited", "0");
        lifecycle_->onUnitState(unit, "inactive");
    }
};

TEST_F(QueueTest, HigherPriorityStartsFirstAndEqualOnesInSubmissionOrder) {
    auto running = submitWith(0);
    auto b = submitWith(0);
    auto c = submitWith(5);
    auto d = submitWith(0);
    auto e = submitWith(5);
    auto f = submitWith(-3);
    auto g = submitWith(100);
    std::vector<std::string> order;
    for (auto now = running; lifecycle_->queued() > 0;) {
        endRunning(now);
        now = units_.started.back().substr(std::string("imagebuild-").size());
        now = now.substr(0, now.size() - std::string(".service").size());
        order.push_back(now);
    }
    EXPECT_EQ(order, (std::vector<std::string>{g, c, e, b, d, f}));
}

TEST_F(QueueTest, PriorityIsRecordedAndKeepsTheOrderAcrossARestart) {
    auto running = submitWith(0);
    auto low = submitWith(-1);
    auto normal = submitWith(0);
    auto high = submitWith(10);
    EXPECT_EQ(onDisk(high).spec.priority, 10);
    EXPECT_EQ(onDisk(low).spec.priority, -1);
    units_.answerStart("imagebuild-" + running + ".service");
    units_.states["imagebuild-" + running + ".service"] = "active";
    restartWith(queueOptions());
    lifecycle_->reconcile();
    EXPECT_EQ(lifecycle_->queued(), 3u);
    std::vector<std::string> order;
    for (auto now = running; lifecycle_->queued() > 0;) {
        units_.states.erase("imagebuild-" + now + ".service");
        endRunning(now);
        now = units_.started.back().substr(std::string("imagebuild-").size());
        now = now.substr(0, now.size() - std::string(".service").size());
        order.push_back(now);
    }
    EXPECT_EQ(order, (std::vector<std::string>{high, normal, low}));
}

TEST_F(QueueTest, AStallIsShownAndClearedByTheNextLine) {
    class Stalls final : public LifecycleListener {
    public:
        void buildStalled(const BuildRecord& r) override { stalled.push_back(r.id); }
        void buildChanged(const BuildRecord&, const std::vector<std::string>& p) override {
            changed.insert(changed.end(), p.begin(), p.end());
        }
        std::vector<std::string> stalled, changed;
    } stalls;
    lifecycle_->addListener(stalls);
    auto id = submitWith(0);
    stalls.changed.clear();
    lifecycle_->markStalled(id, 5'000'000);
    EXPECT_EQ(record(id).stalledSince, 5'000'000u);
    EXPECT_EQ(onDisk(id).stalledSince, 5'000'000u);
    EXPECT_EQ(stalls.stalled, std::vector<std::string>{id});
    EXPECT_EQ(stalls.changed, (std::vector<std::string>{"Stalled", "StalledSince"}));
    EXPECT_TRUE(units_.stopped.empty());  // stall_action = none
    lifecycle_->markUnstalled(id);
    EXPECT_EQ(record(id).stalledSince, 0u);
    EXPECT_EQ(record(id).state, state::kRunning);
}

TEST_F(QueueTest, StallActionCancelEndsTheBuildCancelledWithTheReason) {
    auto o = queueOptions();
    o.config.types.at("short").stallAction = StallAction::kCancel;
    restartWith(o);
    auto id = submitWith(0);
    units_.answerStart("imagebuild-h-1.service");
    lifecycle_->markStalled(id, realtimeUsec() - 30 * 60'000'000ULL);
    EXPECT_EQ(units_.stopped, std::vector<std::string>{"imagebuild-h-1.service"});
    EXPECT_TRUE(onDisk(id).cancelRequested);
    recordOutcome(id, "signal", "killed", "TERM");
    lifecycle_->onUnitState("imagebuild-h-1.service", "inactive");
    EXPECT_EQ(record(id).state, state::kCancelled);
    EXPECT_EQ(record(id).reason, "stalled for 30 min");
    EXPECT_EQ(record(id).stalledSince, 0u);
}
