#include "forwarder/work_queue.hpp"

#include <pthread.h>

#include <algorithm>

namespace imagebuild::forwarder {

WorkQueue::WorkQueue(std::string threadName, unsigned threads) : name_(std::move(threadName)) {
    for (unsigned i = 0; i < std::max(1u, threads); ++i) {
        threads_.emplace_back(&WorkQueue::run, this);
    }
}

WorkQueue::~WorkQueue() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_) {
        thread.join();
    }
}

void WorkQueue::post(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
}

void WorkQueue::run() {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    std::unique_lock lock(mutex_);
    for (;;) {
        ready_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) {
            return;  // stopped, and every job posted before has run (or is running)
        }
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
    }
}

}  // namespace imagebuild::forwarder
