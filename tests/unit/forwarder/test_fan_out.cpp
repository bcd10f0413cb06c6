// forEachConcurrently: every task runs once, at most maxThreads at a time,
// truly at the same time, and a failing task still lets the others run.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "forwarder/fan_out.hpp"

namespace imagebuild::forwarder {
namespace {

TEST(FanOut, RunsEveryTaskOnce) {
    std::vector<std::atomic<int>> runs(100);
    forEachConcurrently(runs.size(), 8, [&](std::size_t i) { ++runs[i]; });
    for (const auto& count : runs) {
        EXPECT_EQ(count.load(), 1);
    }
}

TEST(FanOut, NoTasksReturnsAtOnce) {
    bool ran = false;
    forEachConcurrently(0, 8, [&](std::size_t) { ran = true; });
    EXPECT_FALSE(ran);
}

// Four tasks that each wait (up to 5 s) until all four have started: they
// all see four only if they run at the same time.
TEST(FanOut, TasksRunAtTheSameTime) {
    std::mutex mutex;
    std::condition_variable started;
    int running = 0;
    std::vector<bool> sawAll(4, false);
    forEachConcurrently(4, 4, [&](std::size_t i) {
        std::unique_lock lock(mutex);
        ++running;
        started.notify_all();
        sawAll[i] = started.wait_for(lock, std::chrono::seconds(5), [&] { return running == 4; });
    });
    EXPECT_EQ(sawAll, std::vector<bool>(4, true));
}

TEST(FanOut, NeverMoreThanMaxThreadsAtOnce) {
    std::atomic<int> now{0};
    std::atomic<int> most{0};
    forEachConcurrently(64, 3, [&](std::size_t) {
        auto current = ++now;
        int seen = most.load();
        while (current > seen && !most.compare_exchange_weak(seen, current)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --now;
    });
    EXPECT_GE(most.load(), 1);
    EXPECT_LE(most.load(), 3);
}

TEST(FanOut, AFailingTaskIsRethrownAfterTheOthersRan) {
    std::atomic<int> ran{0};
    EXPECT_THROW(forEachConcurrently(10, 4,
                                     [&](std::size_t i) {
                                         ++ran;
                                         if (i == 2) {
                                             throw std::runtime_error("peer 2 failed");
                                         }
                                     }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 10);
}

}  // namespace
}  // namespace imagebuild::forwarder
