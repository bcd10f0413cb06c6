#include "forwarder/work_queue.hpp"

#include <pthread.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

WorkQueue::WorkQueue(std::string threadName, unsigned threads)
    : name_(std::move(threadName)), max_(std::max(1u, threads)) {
    std::lock_guard lock(mutex_);
    for (unsigned i = 0; i < max_; ++i) {
        start();
    }
}

WorkQueue::WorkQueue(std::string threadName, unsigned maxThreads,
                     std::chrono::milliseconds keepIdle)
    : name_(std::move(threadName)),
      max_(std::max(1u, maxThreads)),
      elastic_(true),
      keepIdle_(keepIdle) {}

WorkQueue::~WorkQueue() {
    std::vector<std::thread> all;
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
        for (auto& [id, thread] : threads_) {
            all.push_back(std::move(thread));
        }
        threads_.clear();
        std::move(ended_.begin(), ended_.end(), std::back_inserter(all));
        ended_.clear();
    }
    ready_.notify_all();
    for (auto& thread : all) {
        thread.join();
    }
}

void WorkQueue::post(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
        if (elastic_ && idle_ < jobs_.size() && threads_.size() < max_) {
            start();
        }
    }
    ready_.notify_one();
}

unsigned WorkQueue::threads() {
    std::lock_guard lock(mutex_);
    return static_cast<unsigned>(threads_.size());
}

void WorkQueue::start() {
    try {
        std::thread thread(&WorkQueue::run, this);
        auto id = thread.get_id();
        threads_.emplace(id, std::move(thread));
    } catch (const std::system_error& e) {
        // Out of threads (TasksMax, memory): the job waits for a thread that
        // runs, or for the next post to start one.
        log::error("{}: cannot start a thread: {}", name_, e.what());
    }
}

void WorkQueue::run() {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    std::unique_lock lock(mutex_);
    auto ready = [this] {
        return stop_ || !jobs_.empty();
    };
    for (;;) {
        ++idle_;
        if (elastic_) {
            ready_.wait_for(lock, keepIdle_, ready);
        } else {
            ready_.wait(lock, ready);
        }
        --idle_;
        if (jobs_.empty()) {
            // Stopped (every job posted before has run or is running), or
            // idle for keepIdle_ (a job posted meanwhile would have been
            // seen by the wait).
            if (stop_) {
                return;
            }
            // The threads that ended idle before this one are joined by it,
            // so that after a burst at most one is left unjoined (its stack
            // kept), and the posting thread (a loop) never joins one.
            auto earlier = std::exchange(ended_, {});
            endIdle();
            lock.unlock();
            for (auto& thread : earlier) {
                thread.join();
            }
            return;
        }
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
    }
}

// Under mutex_: this thread, idle too long, ends: it cannot join itself, so
// the next thread to end idle (or the destructor, which may have taken it
// already) does.
void WorkQueue::endIdle() {
    if (auto self = threads_.find(std::this_thread::get_id()); self != threads_.end()) {
        ended_.push_back(std::move(self->second));
        threads_.erase(self);
    }
}

}  // namespace imagebuild::forwarder
