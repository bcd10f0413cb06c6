#include "forwarder/request_loop.hpp"

#include <microhttpd.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

namespace {

// epoll data of the two descriptors that are not watched connections.
int daemonTag;
int wakeTag;

HeadWait endedWait() {
    HeadWait wait;
    wait.outcome = HeadWait::Outcome::Ended;
    return wait;
}

}  // namespace

RequestLoop::RequestLoop(MHD_Daemon* daemon, HeadLimits limits, std::chrono::milliseconds grace,
                         ServesHead servesHead, WaitEnded waitEnded, AddFailed addFailed)
    : daemon_(daemon),
      limits_(limits),
      grace_(grace),
      servesHead_(std::move(servesHead)),
      waitEnded_(std::move(waitEnded)),
      addFailed_(std::move(addFailed)),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    const auto* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
    if (!epoll_ || !wake_ || !info) {
        throw std::runtime_error("the request loop could not set up its epoll");
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &daemonTag;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, info->epoll_fd, &event);
    event.data.ptr = &wakeTag;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event);
    thread_ = std::thread(&RequestLoop::run, this);
}

RequestLoop::~RequestLoop() {
    {
        std::lock_guard lock(inboxMutex_);
        stop_ = true;
    }
    wake();
    thread_.join();
    for (auto& added : inbox_) {
        ::close(added.fd);  // never the daemon's: handed off as the loop stopped
        addFailed_(added.fd);
    }
}

void RequestLoop::add(int fd, const sockaddr* address, socklen_t length) {
    Added added{fd, {}, std::min<socklen_t>(length, sizeof(sockaddr_storage))};
    std::memcpy(&added.address, address, added.length);
    {
        std::lock_guard lock(inboxMutex_);
        inbox_.push_back(added);
    }
    wake();
}

void RequestLoop::resume(MHD_Connection* connection) {
    MHD_resume_connection(connection);
    wake();
}

void RequestLoop::wake() {
    std::uint64_t one = 1;
    (void)!write(wake_.get(), &one, sizeof(one));
}

void RequestLoop::watch(MHD_Connection* connection, int fd) {
    MHD_suspend_connection(connection);
    auto& watch = watches_.emplace_back(
        Watch{connection, fd, 0, std::chrono::steady_clock::now() + grace_, {}});
    watch.self = std::prev(watches_.end());
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.ptr = &watch;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        log::error("the request loop cannot watch a kept-alive connection: {}",
                   std::strerror(errno));
        end(watch, endedWait());
        return;
    }
    look(watch);  // its next head may be here already: no edge would tell
}

void RequestLoop::run() {
    pthread_setname_np(pthread_self(), "request-loop");
    epoll_event events[64];
    for (;;) {
        int n = epoll_wait(epoll_.get(), events, 64, timeoutMs());
        for (int i = 0; i < n; ++i) {
            auto* tag = events[i].data.ptr;
            if (tag == &wakeTag) {
                std::uint64_t count;
                (void)!read(wake_.get(), &count, sizeof(count));
            } else if (tag != &daemonTag) {
                look(*static_cast<Watch*>(tag));
            }
        }
        {
            std::lock_guard lock(inboxMutex_);
            if (stop_) {
                break;
            }
        }
        addWaiting();
        auto now = std::chrono::steady_clock::now();
        while (!watches_.empty() && watches_.front().deadline <= now) {
            auto& watch = watches_.front();
            endHeadWait(watch.fd, watch.seen);
            end(watch, HeadWait{});  // Quiet
        }
        MHD_run(daemon_);
    }
    while (!watches_.empty()) {
        end(watches_.front(), endedWait());
    }
}

void RequestLoop::addWaiting() {
    std::vector<Added> added;
    {
        std::lock_guard lock(inboxMutex_);
        added.swap(inbox_);
    }
    for (auto& [fd, address, length] : added) {
        if (MHD_add_connection(daemon_, fd, reinterpret_cast<const sockaddr*>(&address), length) !=
            MHD_YES) {
            addFailed_(fd);  // libmicrohttpd closed it
        }
    }
}

void RequestLoop::look(Watch& watch) {
    auto wait = peekHead(watch.fd, limits_, watch.seen);
    if (!wait) {
        return;
    }
    if (wait->outcome == HeadWait::Outcome::Arrived && !servesHead_(wait->head)) {
        // A follower after a page, say: the gate hands it to its own daemon.
        end(watch, HeadWait{});
        return;
    }
    end(watch, *wait);
}

void RequestLoop::end(Watch& watch, const HeadWait& wait) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, watch.fd, nullptr);
    auto* connection = watch.connection;
    watches_.erase(watch.self);
    waitEnded_(connection, wait);
    resume(connection);
}

// Until libmicrohttpd's next timeout or the first watch's deadline; -1 for
// neither.
int RequestLoop::timeoutMs() {
    long long ms = -1;
    MHD_UNSIGNED_LONG_LONG daemonMs = 0;
    if (MHD_get_timeout(daemon_, &daemonMs) == MHD_YES) {
        ms = static_cast<long long>(std::min<MHD_UNSIGNED_LONG_LONG>(daemonMs, INT32_MAX));
    }
    if (!watches_.empty()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(watches_.front().deadline -
                                                                 std::chrono::steady_clock::now());
        long long watchMs = std::max<long long>(0, left.count());
        ms = ms < 0 ? watchMs : std::min(ms, watchMs);
    }
    return static_cast<int>(ms);
}

}  // namespace imagebuild::forwarder
