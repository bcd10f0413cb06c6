// The request loop's thread (http_server.hpp): libmicrohttpd's daemon in
// external-epoll mode, run from an epoll set of our own that also holds the
// kept-alive connections the daemon has answered, while their next head
// arrives.
//
// libmicrohttpd answers a head it refuses itself with its own HTML, so a
// kept-alive connection's next head is checked before libmicrohttpd reads
// it (hand_back.hpp). A thread could wait for it; a loop cannot. So the
// answered connection is suspended (libmicrohttpd leaves it alone: out of
// its epoll set, no reads), its socket goes into this loop's epoll set,
// and the next head is peeked as it arrives; once it has arrived whole and
// passed, the connection is resumed and libmicrohttpd reads it in the same
// turn of this loop, on the same connection. Given
// back to the gate instead, each request cost a new connection to
// libmicrohttpd and two more wake-ups between threads: 0.64x the requests
// a second (bench/forwarder-ab). A connection whose next head has not
// arrived within the grace goes to the gate after all, which holds an idle
// connection in a few hundred bytes where libmicrohttpd holds its pool.
//
// libmicrohttpd's external mode is not safe to call from other threads, so
// connections handed off by the gate wait in an inbox for this thread,
// woken through an eventfd. Resuming a connection (the handlers' workers
// do) is safe from any thread, but in external mode libmicrohttpd has no
// descriptor of its own to wake its loop with: resume() wakes this one.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "common/unique_fd.hpp"
#include "forwarder/hand_back.hpp"
#include "forwarder/request_head.hpp"

struct MHD_Daemon;
struct MHD_Connection;

namespace imagebuild::forwarder {

class RequestLoop {
public:
    // On the loop's thread: the wait for `connection`'s next head ended
    // (Quiet: the grace passed; Ended also when the loop stops). The
    // connection is still suspended; the loop resumes it when this returns.
    using WaitEnded = std::function<void(MHD_Connection* connection, const HeadWait& wait)>;
    // On the loop's thread: libmicrohttpd refused a socket (and closed it).
    using AddFailed = std::function<void(int fd)>;
    // Whether a kept-alive connection's next head is this daemon's
    // (stream_choice.hpp); if not, its wait ends Quiet: the gate takes the
    // connection and hands it to the daemon that serves that head.
    using ServesHead = std::function<bool(std::string_view head)>;

    // `daemon`: started with MHD_USE_EPOLL (no thread of its own) and
    // MHD_ALLOW_SUSPEND_RESUME; stopped by the caller after this is
    // destroyed.
    RequestLoop(MHD_Daemon* daemon, HeadLimits limits, std::chrono::milliseconds grace,
                ServesHead servesHead, WaitEnded waitEnded, AddFailed addFailed);
    // Ends every wait (Ended) and the thread.
    ~RequestLoop();
    RequestLoop(const RequestLoop&) = delete;
    RequestLoop& operator=(const RequestLoop&) = delete;

    // Any thread: `fd` goes to the daemon on the loop's thread.
    void add(int fd, const sockaddr* address, socklen_t length);
    // Any thread: resumes a suspended connection of the daemon, and wakes the
    // loop to serve it.
    void resume(MHD_Connection* connection);
    // The loop's thread (libmicrohttpd's notify-completed callback): suspends
    // the answered `connection` and waits for the next head on `fd`.
    void watch(MHD_Connection* connection, int fd);

private:
    struct Added {
        int fd;
        sockaddr_storage address;
        socklen_t length;
    };
    struct Watch {
        MHD_Connection* connection;
        int fd;
        std::size_t seen = 0;
        std::chrono::steady_clock::time_point deadline;
        std::list<Watch>::iterator self;
    };

    void run();
    void wake();
    void addWaiting();
    void look(Watch& watch);
    void end(Watch& watch, const HeadWait& wait);
    int timeoutMs();

    MHD_Daemon* daemon_;
    HeadLimits limits_;
    std::chrono::milliseconds grace_;
    ServesHead servesHead_;
    WaitEnded waitEnded_;
    AddFailed addFailed_;
    UniqueFd epoll_;
    UniqueFd wake_;
    std::mutex inboxMutex_;
    std::vector<Added> inbox_;
    bool stop_ = false;  // under inboxMutex_
    // The loop's thread only. In the order they began, so in deadline order.
    std::list<Watch> watches_;
    std::thread thread_;
};

}  // namespace imagebuild::forwarder
