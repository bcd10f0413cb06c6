// WorkQueue: a job that waits long does not hold up the jobs behind it
// (the stream loop's first follower of a slow owner's build), and every job
// posted before the queue ends has run.
#include "forwarder/work_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

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

}  // namespace
}  // namespace imagebuild::forwarder
