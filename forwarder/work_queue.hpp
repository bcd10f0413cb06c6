// Threads that run posted jobs, taken in order: the stream loop's blocking
// work (a route's handler, which may ask the agent over D-Bus, open a
// journal or wait for a peer's first answer) runs here while the
// connection is parked, so that the loop never waits for it. More than one
// thread, so that one job that waits long (an owner slow to answer) does
// not hold up the jobs behind it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace imagebuild::forwarder {

class WorkQueue {
public:
    explicit WorkQueue(std::string threadName, unsigned threads = 1);
    // Runs the jobs posted so far, then stops.
    ~WorkQueue();
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

    void post(std::function<void()> job);

private:
    void run();

    std::string name_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace imagebuild::forwarder
