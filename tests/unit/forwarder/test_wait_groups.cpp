// WaitGroups: at most a group's cap of its jobs hold a worker at once, the
// rest wait their turn holding none; other groups and ungrouped jobs are not
// held up; when the server stops, waiting jobs run where the last ended.
#include "forwarder/wait_groups.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "forwarder/work_queue.hpp"

namespace imagebuild::forwarder {
namespace {

using namespace std::chrono_literals;

// Jobs that wait until released, recording the order they started in.
struct Blockers {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<int> started;
    int running = 0;
    int mostRunning = 0;
    bool released = false;

    std::function<void()> job(int n) {
        return [this, n] {
            std::unique_lock lock(mutex);
            started.push_back(n);
            mostRunning = std::max(mostRunning, ++running);
            changed.notify_all();
            changed.wait(lock, [this] { return released; });
            --running;
            changed.notify_all();
        };
    }
    bool waitFor(const std::function<bool()>& condition) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 10s, condition);
    }
    void release() {
        std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }
};

WaitGroups::Post onto(WorkQueue& queue) {
    return [&queue](std::function<void()> job) {
        queue.post(std::move(job));
        return true;
    };
}

// Blocking jobs, an elastic queue of 8 workers and the groups that post to
// it (unless `stopping`: then no worker takes a job); the queue ends (its
// threads joined) before what its jobs use goes.
struct Rig {
    Blockers b;
    std::atomic<bool> stopping = false;
    std::unique_ptr<WorkQueue> workers = std::make_unique<WorkQueue>("test-groups", 8, 1000ms);
    WorkQueue& queue = *workers;
    WaitGroups groups{[this](std::function<void()> job) {
        if (stopping) {
            return false;
        }
        queue.post(std::move(job));
        return true;
    }};
    ~Rig() { workers.reset(); }
    // `n` blocking jobs in `group`, once `running` of them run.
    bool block(const WaitGroup& group, int n, int running) {
        for (int i = 0; i < n; ++i) {
            groups.run(group, b.job(i), onto(queue));
        }
        return b.waitFor([&] { return b.running == running; });
    }
};

TEST(WaitGroups, AGroupRunsNoMoreThanItsCap) {
    Rig rig;
    auto& [b, stopping, workers, queue, groups] = rig;
    ASSERT_TRUE(rig.block({"agent", 2}, 6, 2));
    EXPECT_EQ(groups.waiting("agent"), 4u);
    EXPECT_LE(queue.threads(), 2u);  // the waiting ones hold no worker
    b.release();
    ASSERT_TRUE(b.waitFor([&] { return b.started.size() == 6 && b.running == 0; }));
    EXPECT_EQ(b.mostRunning, 2);
    std::lock_guard lock(b.mutex);
    // The first two ran first; the others were taken in order, two workers
    // starting them side by side.
    std::vector<int> first(b.started.begin(), b.started.begin() + 2);
    std::sort(first.begin(), first.end());
    EXPECT_EQ(first, (std::vector<int>{0, 1}));
}

TEST(WaitGroups, OtherGroupsAndUngroupedJobsAreNotHeldUp) {
    Rig rig;
    auto& [b, stopping, workers, queue, groups] = rig;
    ASSERT_TRUE(rig.block({"peer a", 1}, 3, 1));
    std::promise<void> other;
    std::promise<void> none;
    groups.run(
        {"peer b", 1}, [&other] { other.set_value(); }, onto(queue));
    groups.run(
        {}, [&none] { none.set_value(); }, onto(queue));
    EXPECT_EQ(other.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_EQ(none.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_EQ(groups.waiting("peer a"), 2u);
    b.release();
    ASSERT_TRUE(b.waitFor([&] { return b.started.size() == 3 && b.running == 0; }));
}

// The server stops: no worker takes a job any more, and the jobs still
// waiting run on the thread of the job that ended, one after the other in
// the order they came (each answers 503 at once there).
TEST(WaitGroups, WhenNoWorkerTakesThemWaitingJobsRunWhereTheLastEnded) {
    std::vector<std::thread::id> ranOn;  // under the blockers' mutex
    std::vector<int> order;
    Rig rig;
    auto& [b, stopping, workers, queue, groups] = rig;
    ASSERT_TRUE(rig.block({"agent", 1}, 1, 1));
    for (int i = 0; i < 100000; ++i) {  // many: run in a loop, not by recursion
        groups.run(
            {"agent", 1},
            [&, i] {
                std::lock_guard lock(b.mutex);
                ranOn.push_back(std::this_thread::get_id());
                order.push_back(i);
                b.changed.notify_all();
            },
            onto(queue));
    }
    stopping = true;
    b.release();
    ASSERT_TRUE(b.waitFor([&] { return ranOn.size() == 100000; }));
    EXPECT_EQ(groups.waiting("agent"), 0u);
    std::lock_guard lock(b.mutex);
    EXPECT_EQ(std::set<std::thread::id>(ranOn.begin(), ranOn.end()).size(), 1u);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));  // in the order they came
}

}  // namespace
}  // namespace imagebuild::forwarder
