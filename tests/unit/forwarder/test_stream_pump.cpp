// pumpedStream: the request loop's side of a stream that blocks. The loop's
// read never waits for the source (it parks instead, and is unparked when
// bytes come), every byte arrives in order, reading ahead stops at the
// buffer (a slow client holds no worker), and a source that breaks, a
// server that stops and a reader that leaves each end the reading.
#include "forwarder/stream_pump.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>

#include "forwarder/work_queue.hpp"

namespace imagebuild::forwarder {
namespace {

using namespace std::chrono_literals;

// Stands for a loop's connection: parked until unparked.
class TestParking : public StreamParking {
public:
    void park() override {
        std::lock_guard lock(mutex_);
        parked_ = true;
        ++parks_;
    }
    void unpark() override {
        std::lock_guard lock(mutex_);
        parked_ = false;
        unparked_.notify_all();
    }
    bool parked() {
        std::lock_guard lock(mutex_);
        return parked_;
    }
    int parks() {
        std::lock_guard lock(mutex_);
        return parks_;
    }
    // What the loop does for a parked connection: nothing, until unparked.
    bool waitUnparked() {
        std::unique_lock lock(mutex_);
        return unparked_.wait_for(lock, 10s, [this] { return !parked_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable unparked_;
    bool parked_ = false;
    int parks_ = 0;
};

PumpWorkers workersOf(WorkQueue& queue) {
    return {[&queue](std::function<void()> job) {
                queue.post(std::move(job));
                return true;
            },
            [] {
                return false;
            }};
}

// The loop's reads until the end: the bytes, and how the stream ended.
std::pair<std::string, long> readAll(BodyStream& stream, TestParking& parking) {
    std::string out;
    char buffer[3000];
    for (;;) {
        int parks = parking.parks();
        long n = stream(buffer, sizeof buffer);
        if (n < 0) {
            return {out, n};
        }
        if (n == 0) {
            // Parked (and perhaps unparked at once): else the loop would spin.
            EXPECT_GT(parking.parks(), parks) << "0 without parking";
        }
        if (n == 0 && !parking.waitUnparked()) {
            ADD_FAILURE() << "parked and never unparked";
            return {out, 0};
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

// Waits until every job posted to the one thread of `queue` so far has run.
void drain(WorkQueue& queue) {
    std::promise<void> ran;
    queue.post([&ran] { ran.set_value(); });
    ASSERT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);
}

// `total` bytes numbered in pieces of uneven sizes, as a journal read gives.
BodyStream numberedSource(std::size_t total) {
    auto sent = std::make_shared<std::size_t>(0);
    return [sent, total](char* buffer, std::size_t max) -> long {
        if (*sent == total) {
            return kStreamEnd;
        }
        std::size_t n = std::min({max, total - *sent, 1 + *sent % 5000});
        for (std::size_t i = 0; i < n; ++i) {
            buffer[i] = static_cast<char>((*sent + i) % 251);
        }
        *sent += n;
        return static_cast<long>(n);
    };
}

TEST(StreamPump, EveryByteArrivesInOrderAndTheEndIsTold) {
    WorkQueue queue("test-pump", 2);
    auto parking = std::make_shared<TestParking>();
    constexpr std::size_t kTotal = 1'000'000;
    auto stream = pumpedStream(numberedSource(kTotal), parking, workersOf(queue), 16 * 1024);
    auto [bytes, end] = readAll(stream, *parking);
    EXPECT_EQ(end, kStreamEnd);
    ASSERT_EQ(bytes.size(), kTotal);
    for (std::size_t i = 0; i < kTotal; ++i) {
        ASSERT_EQ(bytes[i], static_cast<char>(i % 251)) << "at byte " << i;
    }
}

TEST(StreamPump, TheLoopParksInsteadOfWaitingForTheSource) {
    WorkQueue queue("test-pump", 1);
    auto parking = std::make_shared<TestParking>();
    std::promise<void> release;
    auto released = release.get_future().share();
    auto calls = std::make_shared<int>(0);
    BodyStream slow = [released, calls](char* buffer, std::size_t) -> long {
        if (++*calls > 1) {
            return kStreamEnd;
        }
        released.wait();
        buffer[0] = 'x';
        return 1;
    };
    auto stream = pumpedStream(std::move(slow), parking, workersOf(queue));
    char buffer[16];
    EXPECT_EQ(stream(buffer, sizeof buffer), 0);  // returns at once: the source still waits
    EXPECT_TRUE(parking->parked());
    release.set_value();
    ASSERT_TRUE(parking->waitUnparked());
    ASSERT_EQ(stream(buffer, sizeof buffer), 1);
    EXPECT_EQ(buffer[0], 'x');
}

TEST(StreamPump, ReadingAheadStopsAtTheBufferAndGivesTheWorkerBack) {
    WorkQueue queue("test-pump", 1);
    auto parking = std::make_shared<TestParking>();
    auto read = std::make_shared<std::atomic<std::size_t>>(0);
    BodyStream endless = [read](char* buffer, std::size_t max) -> long {
        std::fill_n(buffer, max, 'y');
        *read += max;
        return static_cast<long>(max);
    };
    constexpr std::size_t kBuffer = 64 * 1024;
    auto stream = pumpedStream(std::move(endless), parking, workersOf(queue), kBuffer);
    char buffer[1000];
    stream(buffer, sizeof buffer);  // starts the reading ahead; the client reads no more
    drain(queue);                   // the one worker is free again: the reading ended
    EXPECT_EQ(read->load(), kBuffer);
    // Reading on from the buffer starts reading ahead again below half.
    std::string big(kBuffer, '\0');
    EXPECT_EQ(stream(big.data(), big.size()), static_cast<long>(kBuffer));
    drain(queue);
    EXPECT_EQ(read->load(), 2 * kBuffer);
}

TEST(StreamPump, ASourceThatThrowsCutsTheStreamAfterItsBytes) {
    WorkQueue queue("test-pump", 1);
    auto parking = std::make_shared<TestParking>();
    auto calls = std::make_shared<int>(0);
    BodyStream breaking = [calls](char* buffer, std::size_t) -> long {
        if (++*calls > 1) {
            throw std::runtime_error("the journal went away");
        }
        std::copy_n("part", 4, buffer);
        return 4;
    };
    auto stream = pumpedStream(std::move(breaking), parking, workersOf(queue));
    auto [bytes, end] = readAll(stream, *parking);
    EXPECT_EQ(bytes, "part");
    EXPECT_EQ(end, kStreamBroken);
}

TEST(StreamPump, AStoppingServerCutsTheStream) {
    auto parking = std::make_shared<TestParking>();
    std::atomic<int> sourceCalls = 0;
    BodyStream source = [&sourceCalls](char*, std::size_t) -> long {
        ++sourceCalls;
        return kStreamEnd;
    };
    // No worker takes the job: the server stops.
    auto stream = pumpedStream(std::move(source), parking,
                               {[](std::function<void()>) { return false; },
                                [] {
                                    return true;
                                }});
    auto [bytes, end] = readAll(stream, *parking);
    EXPECT_EQ(end, kStreamBroken);
    EXPECT_FALSE(parking->parked());
    EXPECT_EQ(sourceCalls, 0);
}

TEST(StreamPump, AWorkerReadingWhenTheServerStopsCutsTheStream) {
    WorkQueue queue("test-pump", 1);
    auto parking = std::make_shared<TestParking>();
    std::atomic<bool> stopping = false;
    BodyStream endless = [&stopping](char* buffer, std::size_t) -> long {
        stopping = true;  // the server stops while this is read
        buffer[0] = 'z';
        return 1;
    };
    auto stream = pumpedStream(std::move(endless), parking,
                               {[&queue](std::function<void()> job) {
                                    queue.post(std::move(job));
                                    return true;
                                },
                                [&stopping] {
                                    return stopping.load();
                                }});
    auto [bytes, end] = readAll(stream, *parking);
    EXPECT_EQ(bytes, "z");
    EXPECT_EQ(end, kStreamBroken);
}

TEST(StreamPump, TheSourceIsLeftOnceTheReaderIsGone) {
    WorkQueue queue("test-pump", 1);
    auto parking = std::make_shared<TestParking>();
    std::promise<void> entered;
    std::promise<void> release;
    auto released = release.get_future().share();
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> sourceAlive = alive;
    BodyStream source = [&entered, released, calls, alive = std::move(alive)](char* buffer,
                                                                              std::size_t) -> long {
        if (++*calls == 1) {
            entered.set_value();
        }
        released.wait();
        buffer[0] = 'w';
        return 1;
    };
    {
        auto stream = pumpedStream(std::move(source), parking, workersOf(queue));
        char buffer[8];
        EXPECT_EQ(stream(buffer, sizeof buffer), 0);
        ASSERT_EQ(entered.get_future().wait_for(10s), std::future_status::ready);
    }  // libmicrohttpd frees the answer (the client left) while the worker reads
    release.set_value();
    drain(queue);
    EXPECT_EQ(calls->load(), 1);  // not read on after the read it was in
    EXPECT_TRUE(sourceAlive.expired());
}

}  // namespace
}  // namespace imagebuild::forwarder
