// WorkQueue: a job that waits long does not hold up the jobs behind it
// (the stream loop's first follower of a slow owner's build), and every job
// posted before the queue ends has run. An elastic queue (the request
// loop's) holds no thread while idle and never more than its maximum.
#include "forwarder/work_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace imagebuild::forwarder {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueue, AJobThatWaitsDoesNotHoldUpTheNext) {
    WorkQueue queue("test-work", 4);
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> secondRan;
    queue.post([released] { released.wait(); });
    queue.post([&secondRan] { secondRan.set_value(); });
    EXPECT_EQ(secondRan.get_future().wait_for(5s), std::future_status::ready);
    release.set_value();
}

TEST(WorkQueue, OneThreadRunsTheJobsInOrder) {
    std::vector<int> order;
    {
        WorkQueue queue("test-work");
        for (int i = 0; i < 100; ++i) {
            queue.post([&order, i] { order.push_back(i); });
        }
    }
    ASSERT_EQ(order.size(), 100u);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
    }
}

TEST(WorkQueue, EveryJobPostedBeforeTheEndRuns) {
    std::atomic<int> ran{0};
    {
        WorkQueue queue("test-work", 4);
        for (int i = 0; i < 1000; ++i) {
            queue.post([&ran] { ++ran; });
        }
    }
    EXPECT_EQ(ran.load(), 1000);
}

TEST(WorkQueue, AnElasticQueueStartsThreadsAsJobsComeAndEndsThemIdle) {
    WorkQueue queue("test-work", 8, 300ms);
    EXPECT_EQ(queue.threads(), 0u);
    std::promise<void> ran;
    queue.post([&ran] { ran.set_value(); });
    EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
    EXPECT_LE(queue.threads(), 1u);  // 0 if it has been idle 300 ms already
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (queue.threads() != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(queue.threads(), 0u) << "threads left after 300 ms idle";
    std::promise<void> again;
    queue.post([&again] { again.set_value(); });  // starts one again
    EXPECT_EQ(again.get_future().wait_for(5s), std::future_status::ready);
}

TEST(WorkQueue, AnElasticQueueRunsAtMostItsMaximumAtOnce) {
    std::mutex mutex;
    std::condition_variable changed;
    int running = 0;
    int most = 0;
    bool released = false;
    std::atomic<int> ran{0};
    {
        WorkQueue queue("test-work", 4, 10s);
        for (int i = 0; i < 20; ++i) {
            queue.post([&] {
                std::unique_lock lock(mutex);
                most = std::max(most, ++running);
                changed.notify_all();
                changed.wait(lock, [&] { return released; });
                --running;
                ++ran;
            });
        }
        {
            std::unique_lock lock(mutex);
            EXPECT_TRUE(changed.wait_for(lock, 5s, [&] { return running == 4; }));
        }
        std::this_thread::sleep_for(100ms);
        EXPECT_EQ(queue.threads(), 4u);
        std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }
    EXPECT_EQ(most, 4);
    EXPECT_EQ(ran.load(), 20);
}

}  // namespace
}  // namespace imagebuild::forwarder
