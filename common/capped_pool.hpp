// Things costly to open (a connection, an epoll engine with its connections)
// kept between uses, and capped: at most maxOpen exist at once, in use and
// idle (0: no cap), at most maxIdle of them idle. A taker past the cap waits
// for one to be given back or closed, up to a deadline. What a server caps
// per client (the system bus per user, a forwarder per address) is kept
// under by its clients this way. Thread-safe; what is closed is closed
// outside the lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace imagebuild {

template <typename T>
class CappedPool {
public:
    using Item = std::unique_ptr<T>;
    using Clock = std::chrono::steady_clock;

    CappedPool(std::size_t maxOpen, std::size_t maxIdle) : maxOpen_(maxOpen), maxIdle_(maxIdle) {}

    struct Taken {
        Item idle;              // an idle one, the last given back
        bool mayOpen = false;   // else room for a new one, counted already
        bool timedOut = false;  // neither came before the deadline
    };

    // An idle item, or room to open one, waiting while neither until
    // `deadline`. Idle items `stale` says are past use are closed first
    // (their room goes to this taker and to others waiting).
    Taken take(Clock::time_point deadline, const std::function<bool(const T&)>& stale = {}) {
        Taken taken;
        std::vector<Item> dropped;
        {
            std::unique_lock lock(mutex_);
            for (bool lastLook = false;;) {
                if (stale) {
                    dropStale(stale, dropped);
                }
                if (!idle_.empty()) {
                    taken.idle = std::move(idle_.back());
                    idle_.pop_back();
                    break;
                }
                if (maxOpen_ == 0 || open_ < maxOpen_) {
                    ++open_;
                    taken.mayOpen = true;
                    break;
                }
                if (lastLook) {
                    taken.timedOut = true;
                    break;
                }
                // Looked at once more after a timeout: a wake may come with it.
                lastLook = freed_.wait_until(lock, deadline) == std::cv_status::timeout;
            }
        }
        if (dropped.size() > 1) {
            freed_.notify_all();  // room for the others waiting too
        }
        return taken;
    }

    // Kept for the next taker while fewer than maxIdle are idle; else closed.
    void giveBack(Item item) {
        {
            std::lock_guard lock(mutex_);
            if (idle_.size() < maxIdle_) {
                idle_.push_back(std::move(item));
            } else {
                --open_;
            }
        }
        freed_.notify_one();
        // One not kept is closed here, outside the lock.
    }

    // An item taken, or one opened after take() gave room, is gone.
    void closed() {
        {
            std::lock_guard lock(mutex_);
            --open_;
        }
        freed_.notify_one();
    }

    std::size_t maxOpen() const { return maxOpen_; }

    // An item in use: counted as open until given back; closed, and its
    // room freed, when this goes without (a call that broke it, an
    // exception).
    class Held {
    public:
        Held(CappedPool& pool, Item item) : pool_(pool), item_(std::move(item)) {}
        ~Held() {
            if (item_) {
                item_.reset();
                pool_.closed();
            }
        }
        Held(const Held&) = delete;
        Held& operator=(const Held&) = delete;
        T& operator*() const { return *item_; }
        T* operator->() const { return item_.get(); }
        void giveBack() { pool_.giveBack(std::move(item_)); }

    private:
        CappedPool& pool_;
        Item item_;
    };

private:
    void dropStale(const std::function<bool(const T&)>& stale, std::vector<Item>& dropped) {
        for (auto it = idle_.begin(); it != idle_.end();) {
            if (stale(**it)) {
                dropped.push_back(std::move(*it));
                it = idle_.erase(it);
                --open_;
            } else {
                ++it;
            }
        }
    }

    const std::size_t maxOpen_;
    const std::size_t maxIdle_;
    std::mutex mutex_;
    std::condition_variable freed_;  // an item was given back or closed
    std::size_t open_ = 0;           // in use and idle
    std::vector<Item> idle_;
};

}  // namespace imagebuild
