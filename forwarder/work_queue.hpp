// One thread that runs posted jobs in order: the stream loop's blocking
// work (a route's handler, which may ask the agent over D-Bus or open a
// journal) runs here while the connection is parked, so that the loop never
// waits for it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace imagebuild::forwarder {

class WorkQueue {
public:
    explicit WorkQueue(std::string threadName);
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
    std::thread thread_;
};

}  // namespace imagebuild::forwarder
