// Threads that run posted jobs, taken in order: a loop's blocking work (a
// route's handler, which may ask the agent over D-Bus, open a journal or
// wait for a peer) runs here while the connection is parked, so that the
// loop never waits for it. More than one thread, so that one job that waits
// long (an owner slow to answer) does not hold up the jobs behind it.
//
// Fixed: every thread starts with the queue and lives as long. Elastic: a
// thread starts when a job finds none idle (up to the maximum; past it,
// jobs wait their turn) and ends when it has been idle `keepIdle`, so an
// idle forwarder holds none and a busy one starts no thread per job.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace imagebuild::forwarder {

class WorkQueue {
public:
    explicit WorkQueue(std::string threadName, unsigned threads = 1);
    WorkQueue(std::string threadName, unsigned maxThreads, std::chrono::milliseconds keepIdle);
    // Runs the jobs posted so far, then stops.
    ~WorkQueue();
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

    void post(std::function<void()> job);
    // Threads running now, busy or idle.
    unsigned threads();

private:
    void run();
    void start();    // under mutex_
    void endIdle();  // under mutex_

    std::string name_;
    unsigned max_ = 1;
    bool elastic_ = false;
    std::chrono::milliseconds keepIdle_{0};
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
    bool stop_ = false;
    unsigned idle_ = 0;
    std::map<std::thread::id, std::thread> threads_;
    // Threads that ended idle, joined by the next to end idle (or the
    // destructor).
    std::vector<std::thread> ended_;
};

}  // namespace imagebuild::forwarder
