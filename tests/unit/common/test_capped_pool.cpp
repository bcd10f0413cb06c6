// CappedPool: idle items reused, the cap waited at (and given up at its
// deadline), a waiter woken by an item given back, stale idle items closed
// and their room freed, and no more than maxIdle kept.
#include "common/capped_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace imagebuild;
using namespace std::chrono_literals;

namespace {

// Counts how many are alive: what the pool closes, it destroys.
struct Thing {
    explicit Thing(std::atomic<int>& alive, bool stale = false) : alive(alive), stale(stale) {
        ++alive;
    }
    ~Thing() { --alive; }
    std::atomic<int>& alive;
    bool stale;
};

auto soon() {
    return std::chrono::steady_clock::now() + 50ms;
}

}  // namespace

TEST(CappedPool, AnItemGivenBackIsTakenAgain) {
    std::atomic<int> alive{0};
    CappedPool<Thing> pool(2, 2);
    auto first = pool.take(soon());
    EXPECT_TRUE(first.mayOpen);
    auto* thing = new Thing(alive);
    pool.giveBack(std::unique_ptr<Thing>(thing));
    auto again = pool.take(soon());
    EXPECT_EQ(again.idle.get(), thing);
    EXPECT_FALSE(again.mayOpen);
}

TEST(CappedPool, PastTheCapATakerWaitsUntilItsDeadline) {
    CappedPool<Thing> pool(1, 1);
    EXPECT_TRUE(pool.take(soon()).mayOpen);
    auto start = std::chrono::steady_clock::now();
    auto waited = pool.take(soon());
    EXPECT_TRUE(waited.timedOut);
    EXPECT_FALSE(waited.mayOpen);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
    pool.closed();  // the one taken is gone: room again
    EXPECT_TRUE(pool.take(soon()).mayOpen);
}

TEST(CappedPool, AWaiterIsWokenByAnItemGivenBack) {
    std::atomic<int> alive{0};
    CappedPool<Thing> pool(1, 1);
    EXPECT_TRUE(pool.take(soon()).mayOpen);
    CappedPool<Thing>::Taken waited;
    std::thread waiter([&] { waited = pool.take(std::chrono::steady_clock::now() + 10s); });
    std::this_thread::sleep_for(20ms);
    pool.giveBack(std::make_unique<Thing>(alive));
    waiter.join();
    EXPECT_TRUE(waited.idle);
    EXPECT_FALSE(waited.timedOut);
}

TEST(CappedPool, StaleIdleItemsAreClosedAndTheirRoomFreed) {
    std::atomic<int> alive{0};
    CappedPool<Thing> pool(2, 2);
    EXPECT_TRUE(pool.take(soon()).mayOpen);
    EXPECT_TRUE(pool.take(soon()).mayOpen);
    pool.giveBack(std::make_unique<Thing>(alive, /*stale=*/true));
    pool.giveBack(std::make_unique<Thing>(alive, /*stale=*/true));
    auto taken = pool.take(soon(), [](const Thing& t) { return t.stale; });
    EXPECT_FALSE(taken.idle);
    EXPECT_TRUE(taken.mayOpen);  // both closed: room for two
    EXPECT_EQ(alive, 0);
    EXPECT_TRUE(pool.take(soon()).mayOpen);
}

TEST(CappedPool, NoMoreThanMaxIdleAreKept) {
    std::atomic<int> alive{0};
    CappedPool<Thing> pool(0, 1);  // no cap on open ones
    EXPECT_TRUE(pool.take(soon()).mayOpen);
    EXPECT_TRUE(pool.take(soon()).mayOpen);
    pool.giveBack(std::make_unique<Thing>(alive));
    pool.giveBack(std::make_unique<Thing>(alive));  // closed: one is idle already
    EXPECT_EQ(alive, 1);
}

// Held: an item in use is given back, or closed (its room freed) when it
// goes without.
TEST(CappedPool, AHeldItemNotGivenBackIsClosedAndItsRoomFreed) {
    std::atomic<int> alive{0};
    CappedPool<Thing> pool(1, 1);
    ASSERT_TRUE(pool.take(soon()).mayOpen);
    {
        CappedPool<Thing>::Held held(pool, std::make_unique<Thing>(alive));
        EXPECT_EQ(alive, 1);
    }
    EXPECT_EQ(alive, 0);
    ASSERT_TRUE(pool.take(soon()).mayOpen);  // the room came back
    {
        CappedPool<Thing>::Held held(pool, std::make_unique<Thing>(alive));
        held.giveBack();
    }
    EXPECT_EQ(alive, 1);  // kept idle
    EXPECT_TRUE(pool.take(soon()).idle);
}
