#include "forwarder/http_gate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "forwarder/agent_bus.hpp"
#include "forwarder/hand_back.hpp"
#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

using Clock = std::chrono::steady_clock;

// Connections to one peer that the loops hold together (each its share), in
// use and idle: with the threads' (peers.cpp), under the peer's
// max_connections_per_address, 128 by default.
constexpr std::size_t kLoopConnectionsPerPeer = 64;

struct HttpGate::Pending {
    Clock::time_point deadline;
    // Answered here and kept: until a byte of the next head comes, the
    // deadline is the keep-alive timeout, and then it ends without a word.
    bool idle = false;
    // Answered here once: from then on the gate owns the connection and
    // reads it (no peek); `unread`: bytes read and not yet used, as a
    // pipelined head. A request then found not to be the gate's goes to
    // libmicrohttpd over a bridge (connection_bridge.hpp).
    bool owned = false;
    std::string unread;
    // The last read filled what was asked: the socket may hold more, which
    // no new edge will tell of.
    bool mayHoldMore = false;
    // A request relayed to a peer is in flight: nothing more is read until
    // its answer has been sent (an event meanwhile sets mayHoldMore).
    bool relaying = false;
    // What the peer's answer becomes (Relay::answer), kept here so that
    // the peer request's `done` holds no more than fits in std::function.
    std::function<Answer(HttpResponse*, const HttpError*)> relayAnswer;
    // An answer the client's socket had no room for: the rest, sent as the
    // client makes room (EPOLLOUT); nothing more is read meanwhile, so a
    // client that never reads costs one answer, then request_timeout_sec.
    std::string outgoing;
    std::size_t outgoingSent = 0;
    bool closeAfterOutgoing = false;
    std::string key;
    sockaddr_storage address{};
    socklen_t length = 0;
    // Taken back from libmicrohttpd: the bytes its requests took so far.
    std::uint64_t consumed = 0;
};

std::string HttpGate::addressKey(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (address->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                  sizeof(text));
    } else if (address->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                  sizeof(text));
    }
    return text;
}

HttpGate::HttpGate(UniqueFd listenFd, GateLimits limits, HandOff handOff, OnRefusal onRefusal,
                   AnswerHere answerHere)
    : limits_(limits),
      handOff_(std::move(handOff)),
      onRefusal_(std::move(onRefusal)),
      answerHere_(std::move(answerHere)),
      listen_(std::move(listenFd)),
      bridges_(std::chrono::seconds(limits_.keepAliveTimeoutSec)) {
    fcntl(listen_.get(), F_SETFL, fcntl(listen_.get(), F_GETFL) | O_NONBLOCK);
    unsigned loops = std::max(1u, limits_.loops);
    for (unsigned i = 0; i < loops; ++i) {
        auto loop = std::make_unique<Loop>();
        loop->gate = this;
        loop->epoll = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
        loop->wake = UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!loop->epoll || !loop->wake) {
            throw std::runtime_error(fmt::format("epoll/eventfd: {}", std::strerror(errno)));
        }
        loop->buffer.assign(limits_.head.maxHeadBytes + 1, '\0');
        HttpLoopClient::Options peerOptions;
        // One at least: 0 would be no cap (past 64 CPUs the loops together
        // hold one each, more than kLoopConnectionsPerPeer).
        peerOptions.maxOpenPerAddress = std::max<std::size_t>(1, kLoopConnectionsPerPeer / loops);
        loop->peers = std::make_unique<HttpLoopClient>(loop->epoll.get(), peerOptions);
        loop->agent = std::make_unique<AgentOnLoop>(loop->epoll.get(), connectForAgentCalls);
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = loop->wake.get();
        epoll_ctl(loop->epoll.get(), EPOLL_CTL_ADD, loop->wake.get(), &event);
        listenFor(*loop, true);
        loops_.push_back(std::move(loop));
    }
    for (auto& loop : loops_) {
        loop->thread = std::thread([this, &loop = *loop] { run(loop); });
    }
}

HttpGate::~HttpGate() {
    stop();
}

void HttpGate::wakeAll() {
    std::uint64_t one = 1;
    for (auto& loop : loops_) {
        (void)!write(loop->wake.get(), &one, sizeof(one));
    }
}

void HttpGate::stop() {
    if (stop_.exchange(true)) {
        return;
    }
    wakeAll();
    for (auto& loop : loops_) {
        if (loop->thread.joinable()) {
            loop->thread.join();
        }
        for (auto& [fd, pending] : loop->pending) {
            ::close(fd);
        }
        loop->pending.clear();
        std::lock_guard lock(mutex_);
        std::lock_guard taking(loop->takenBackMutex);
        for (const auto& taken : loop->takenBack) {
            ::close(taken.fd);
        }
        loop->takenBack.clear();
    }
    bridges_.stop();
}

void HttpGate::listenFor(Loop& loop, bool accepting) {
    if (accepting == loop.accepting) {
        return;
    }
    // At the cap the listening socket leaves the epoll set: clients wait in
    // the kernel's backlog instead of being accepted and dropped.
    // Exclusive: a new connection wakes one loop, not all of them.
    epoll_event event{};
    event.events = EPOLLIN | EPOLLEXCLUSIVE;
    event.data.fd = listen_.get();
    epoll_ctl(loop.epoll.get(), accepting ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_.get(), &event);
    loop.accepting = accepting;
}

bool HttpGate::admit(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto& count = perAddress_[key];
    if (count >= limits_.maxPerAddress) {
        if (count == 0) {
            perAddress_.erase(key);
        }
        return false;
    }
    ++count;
    ++open_;
    return true;
}

void HttpGate::releaseLocked(const std::string& key) {
    if (auto it = perAddress_.find(key); it != perAddress_.end() && --it->second == 0) {
        perAddress_.erase(it);
    }
    --open_;
}

void HttpGate::release(const std::string& address) {
    {
        std::lock_guard lock(mutex_);
        releaseLocked(address);
    }
    wakeAll();  // a loop that stopped listening at the cap listens again
}

void HttpGate::run(Loop& loop) {
    std::vector<epoll_event> events(64);
    while (!stop_) {
        {
            std::lock_guard lock(mutex_);
            listenFor(loop, open_ < limits_.maxConnections);
        }
        std::vector<int> turn;
        turn.swap(loop.nextTurn);
        for (int fd : turn) {
            readable(loop, fd);
        }
        bool more = !loop.nextTurn.empty() || loop.peers->hasEnded() || loop.agent->hasEnded();
        int n = epoll_wait(loop.epoll.get(), events.data(), static_cast<int>(events.size()),
                           more ? 0 : 250);
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == loop.wake.get()) {
                std::uint64_t count;
                (void)!read(loop.wake.get(), &count, sizeof(count));
            } else if (fd == listen_.get()) {
                accept(loop);
            } else {
                event(loop, fd, events[i].events);
            }
        }
        if (loop.hasTakenBack) {
            adoptTakenBack(loop);
        }
        expire(loop);
        loop.peers->deliver();
        if (loop.agent->busy()) {
            // Calls past their timeout end here: the wait above is at most 250 ms.
            loop.agent->dispatch();
        }
        loop.agent->deliver();
    }
}

// A client's connection, or a peer's (HttpLoopClient's own).
void HttpGate::event(Loop& loop, int fd, std::uint32_t events) {
    auto it = loop.pending.find(fd);
    if (it == loop.pending.end()) {
        if (!loop.agent->handle(fd)) {
            loop.peers->handle(fd, events);
        }
        return;
    }
    auto& pending = it->second;
    if (pending.relaying) {
        pending.mayHoldMore = true;  // looked at once the answer is sent
        return;
    }
    if (!pending.outgoing.empty()) {  // the client made room for the rest
        if (sendOutgoing(loop, fd, pending) != Sent::All) {
            return;
        }
        watchWrites(loop, fd, false);
    }
    readable(loop, fd);
}

void HttpGate::accept(Loop& loop) {
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (open_ >= limits_.maxConnections) {
                return;
            }
        }
        Pending pending;
        pending.length = sizeof(pending.address);
        int fd = accept4(listen_.get(), reinterpret_cast<sockaddr*>(&pending.address),
                         &pending.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED) {
                log::warning("accepting a connection: {}", std::strerror(errno));
            }
            return;
        }
        pending.key = addressKey(reinterpret_cast<sockaddr*>(&pending.address));
        if (!admit(pending.key)) {
            refuse(fd, 429, "TooManyConnections",
                   fmt::format("{} has {} connections open here already "
                               "(max_connections_per_address)",
                               pending.key, limits_.maxPerAddress));
            ::close(fd);
            continue;
        }
        pending.deadline = Clock::now() + std::chrono::seconds(limits_.headTimeoutSec);
        hold(loop, fd, std::move(pending));
    }
}

// Edge-triggered: the bytes stay queued (peeked, not read), and each new
// arrival wakes us once.
void HttpGate::hold(Loop& loop, int fd, Pending&& pending) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    event.data.fd = fd;
    loop.pending.emplace(fd, std::move(pending));
    epoll_ctl(loop.epoll.get(), EPOLL_CTL_ADD, fd, &event);
}

void HttpGate::takeBack(UniqueFd fd, const std::string& address, std::uint64_t consumed) {
    auto& loop = *loops_[nextTakingLoop_++ % loops_.size()];
    // Held throughout, so that stop() (which takes it after setting stop_)
    // finds every connection taken back before it, and none comes after.
    std::lock_guard lock(mutex_);
    if (stop_) {
        return;  // closed: the gate serves no one any more
    }
    // Not refused at the cap: the connection was open, and is still.
    ++perAddress_[address];
    ++open_;
    {
        std::lock_guard taking(loop.takenBackMutex);
        loop.takenBack.push_back({fd.release(), address, consumed});
    }
    loop.hasTakenBack = true;
    std::uint64_t one = 1;
    (void)!write(loop.wake.get(), &one, sizeof(one));
}

// A connection taken back is held as one the loop answered and kept: idle
// for request_timeout_sec, its next head peeked like a first one (it may
// have arrived already, which no edge would tell: looked at now).
void HttpGate::adoptTakenBack(Loop& loop) {
    std::vector<Loop::TakenBack> taken;
    {
        std::lock_guard lock(loop.takenBackMutex);
        taken.swap(loop.takenBack);
        loop.hasTakenBack = false;
    }
    for (auto& [fd, key, consumed] : taken) {
        Pending pending;
        pending.length = sizeof(pending.address);
        getpeername(fd, reinterpret_cast<sockaddr*>(&pending.address), &pending.length);
        pending.key = std::move(key);
        pending.consumed = consumed;
        pending.idle = true;
        pending.deadline = Clock::now() + std::chrono::seconds(limits_.keepAliveTimeoutSec);
        hold(loop, fd, std::move(pending));
        readable(loop, fd);
    }
}

// Edge-triggered: a connection answered here may hold its next request
// already (pipelined), which no new event would tell (peek() says so).
// At most kAnswersInTurn, so that one client's pipelined stream does not
// keep the loop from the others; then the connection waits for the loop's
// next turn (its bytes may all be read already: no event would come).
void HttpGate::readable(Loop& loop, int fd) {
    constexpr int kAnswersInTurn = 32;
    for (int answered = 0; peek(loop, fd) == Peeked::Answered;) {
        if (++answered == kAnswersInTurn) {
            loop.nextTurn.push_back(fd);
            return;
        }
    }
}

HttpGate::Peeked HttpGate::peek(Loop& loop, int fd) {
    auto it = loop.pending.find(fd);
    if (it == loop.pending.end()) {
        return Peeked::Gone;
    }
    auto& pending = it->second;
    if (pending.relaying || !pending.outgoing.empty()) {
        return Peeked::Waiting;  // the answer in progress first
    }
    std::string_view data;
    if (pending.owned) {
        if (!readOwned(loop, fd, pending)) {
            return Peeked::Gone;
        }
        data = pending.unread;
    } else {
        ssize_t n = recv(fd, loop.buffer.data(), loop.buffer.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return Peeked::Waiting;
        }
        if (n <= 0) {
            drop(loop, fd);  // the client left (or the socket broke) before its head
            return Peeked::Gone;
        }
        data = std::string_view(loop.buffer.data(), static_cast<std::size_t>(n));
    }
    auto length = headLength(data);
    auto problem = length == 0 ? checkPartialHead(data, limits_.head)
                               : checkRequestHead(data.substr(0, length), limits_.head);
    if (problem) {
        refuse(fd, problem->status, problem->error, problem->message);
        drop(loop, fd);
        return Peeked::Gone;
    }
    if (length == 0) {
        if (pending.idle && !data.empty()) {  // the next head began: it has head_timeout_sec
            pending.idle = false;
            pending.deadline = Clock::now() + std::chrono::seconds(limits_.headTimeoutSec);
        }
        return Peeked::Waiting;
    }
    if (answerHere_) {
        if (auto answered = answerHere_(data.substr(0, length))) {
            // Bytes after this head were queued already: a pipelined request,
            // which no new event will tell of. Else the next arrival will.
            bool more = data.size() > length || pending.mayHoldMore;
            if (!takeHead(loop, fd, pending, length)) {
                drop(loop, fd);
                return Peeked::Gone;
            }
            if (answered->relay) {
                pending.mayHoldMore = more;
                relay(loop, fd, pending, std::move(answered->relay));
                return Peeked::Waiting;
            }
            auto peeked = answer(loop, fd, pending, std::move(*answered));
            return peeked == Peeked::Answered && !more ? Peeked::Waiting : peeked;
        }
    }
    passOn(loop, it, length);
    return Peeked::Gone;
}

// An owned connection's bytes: what is unread, and what has arrived, if no
// whole head is unread yet. False: it ended (and was dropped).
bool HttpGate::readOwned(Loop& loop, int fd, Pending& pending) {
    if (headLength(pending.unread) != 0) {
        return true;  // a pipelined head to serve first
    }
    auto room = loop.buffer.size() - std::min(loop.buffer.size(), pending.unread.size());
    ssize_t n = room == 0 ? 0 : recv(fd, loop.buffer.data(), room, MSG_DONTWAIT);
    if (room == 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) {
        pending.mayHoldMore = false;
        return true;  // checkPartialHead judges a head that fills the buffer
    }
    if (n <= 0) {
        drop(loop, fd);
        return false;
    }
    pending.unread.append(loop.buffer.data(), static_cast<std::size_t>(n));
    pending.mayHoldMore = static_cast<std::size_t>(n) == room;
    return true;
}

// The connection goes to libmicrohttpd: as it is, if its head was only
// peeked; over a bridge, with the bytes read, if the gate owns it.
void HttpGate::passOn(Loop& loop, std::map<int, Pending>::iterator it, std::size_t headBytes) {
    int fd = it->first;
    epoll_ctl(loop.epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    auto pending = std::move(it->second);
    loop.pending.erase(it);
    // A peeked head is still in the loop's buffer; an owned one moves to
    // the bridge with the rest of what was read, so it is copied first.
    std::string ownedHead;
    std::string_view head(loop.buffer.data(), headBytes);
    int handed = fd;
    UniqueFd inner;
    if (pending.owned) {
        ownedHead = pending.unread.substr(0, headBytes);
        head = ownedHead;
        inner = bridges_.open(fd, std::move(pending.unread));
        if (!inner) {
            release(pending.key);  // the client's socket is closed
            return;
        }
        handed = inner.release();
    }
    // Over a bridge, libmicrohttpd reads a new socket: nothing before counts.
    auto consumed = pending.owned ? 0 : pending.consumed;
    if (!handOff_(handed, reinterpret_cast<sockaddr*>(&pending.address), pending.length, head,
                  consumed)) {
        release(pending.key);
    }
}

// The head answered here leaves the socket (a peeked one is read now; an
// owned one was read already); from then on the connection is owned, read
// rather than peeked.
bool HttpGate::takeHead(Loop& loop, int fd, Pending& pending, std::size_t headBytes) {
    if (pending.owned) {
        pending.unread.erase(0, headBytes);
        return true;
    }
    pending.owned = true;
    return recv(fd, loop.buffer.data(), headBytes, MSG_DONTWAIT) == static_cast<ssize_t>(headBytes);
}

// Sent at once if the client's socket has room (it usually has: the client
// waits for the answer); else the rest waits in `outgoing` for EPOLLOUT.
HttpGate::Peeked HttpGate::answer(Loop& loop, int fd, Pending& pending, Answer&& answered) {
    pending.outgoing = std::move(answered.bytes);
    pending.outgoingSent = 0;
    pending.closeAfterOutgoing = answered.close;
    switch (sendOutgoing(loop, fd, pending)) {
        case Sent::All:
            return Peeked::Answered;
        case Sent::Waiting:
            watchWrites(loop, fd, true);
            return Peeked::Waiting;
        case Sent::Gone:
            break;
    }
    return Peeked::Gone;
}

// What is left of the connection's answer, as far as the client's socket
// takes it. All sent: the connection is kept (or closed, if the answer said
// so); a client that reads, however slowly, keeps it while it reads.
HttpGate::Sent HttpGate::sendOutgoing(Loop& loop, int fd, Pending& pending) {
    ssize_t sent =
        send(fd, pending.outgoing.data() + pending.outgoingSent,
             pending.outgoing.size() - pending.outgoingSent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        drop(loop, fd);
        return Sent::Gone;
    }
    pending.outgoingSent += static_cast<std::size_t>(std::max<ssize_t>(sent, 0));
    if (pending.outgoingSent < pending.outgoing.size()) {
        pending.deadline = Clock::now() + std::chrono::seconds(limits_.keepAliveTimeoutSec);
        return Sent::Waiting;
    }
    pending.outgoing = {};
    pending.outgoingSent = 0;
    if (pending.closeAfterOutgoing) {
        drop(loop, fd);
        return Sent::Gone;
    }
    rearm(pending);
    return Sent::All;
}

void HttpGate::watchWrites(Loop& loop, int fd, bool on) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (on ? EPOLLOUT : 0u);
    event.data.fd = fd;
    epoll_ctl(loop.epoll.get(), EPOLL_CTL_MOD, fd, &event);
}

// An answer sent, the connection kept: idle until its next head begins.
void HttpGate::rearm(Pending& pending) {
    pending.idle = pending.unread.empty();
    pending.deadline =
        Clock::now() +
        std::chrono::seconds(pending.idle ? limits_.keepAliveTimeoutSec : limits_.headTimeoutSec);
}

// The request goes to the peer (or the agent) from this loop; the
// connection waits, unread, until relayed() sends the answer.
void HttpGate::relay(Loop& loop, int fd, Pending& pending, std::shared_ptr<Relay> relay) {
    pending.relaying = true;
    if (relay->ask) {
        relay->ask(*loop.agent, [this, &loop, fd](Answer&& answered) {
            relayed(loop, fd, std::move(answered));
        });
        return;
    }
    pending.relayAnswer = std::move(relay->answer);
    // No more than fits in std::function's own room (16 bytes): no allocation.
    auto done = [&loop, fd](HttpResponse* response, const HttpError* error) {
        auto it = loop.pending.find(fd);
        if (it != loop.pending.end()) {
            auto answer = std::move(it->second.relayAnswer);
            loop.gate->relayed(loop, fd, answer(response, error));
        }
    };
    static_assert(sizeof(done) <= 16);
    loop.peers->start(std::move(relay->request), std::move(done));
}

void HttpGate::relayed(Loop& loop, int fd, Answer&& answered) {
    auto it = loop.pending.find(fd);
    if (it == loop.pending.end()) {
        return;  // not possible: a relaying connection is never dropped meanwhile
    }
    auto& pending = it->second;
    pending.relaying = false;
    bool more = pending.mayHoldMore || !pending.unread.empty();
    if (answer(loop, fd, pending, std::move(answered)) == Peeked::Answered && more) {
        loop.nextTurn.push_back(fd);  // a request came meanwhile, or was read with this one
    }
}

// Deadlines are whole seconds: a look every kExpiryLookMs is soon enough,
// and a busy loop (a wake per few requests) does not walk every
// connection at each wake.
void HttpGate::expire(Loop& loop) {
    constexpr std::chrono::milliseconds kExpiryLookMs{100};
    auto now = Clock::now();
    if (now < loop.nextExpiryLook) {
        return;
    }
    loop.nextExpiryLook = now + kExpiryLookMs;
    std::vector<int> late;
    for (const auto& [fd, pending] : loop.pending) {
        // A relayed request ends at the peer request's own deadline.
        if (pending.deadline <= now && !pending.relaying) {
            late.push_back(fd);
        }
    }
    loop.peers->expire(now);
    for (int fd : late) {
        const auto& pending = loop.pending.at(fd);
        if (pending.idle || !pending.outgoing.empty()) {
            drop(loop, fd);  // a kept connection that asked nothing more, or never read
            continue;
        }
        refuse(fd, 408, "RequestTimeout",
               fmt::format("the request head did not arrive within {} s (head_timeout_sec)",
                           limits_.headTimeoutSec));
        drop(loop, fd);
    }
}

void HttpGate::refuse(int fd, unsigned status, const std::string& error,
                      const std::string& message) {
    if (onRefusal_) {
        onRefusal_(status, error);  // first: counted before the client can see the answer
    }
    refuseConnection(fd, status, error, message);
}

void HttpGate::drop(Loop& loop, int fd) {
    auto it = loop.pending.find(fd);
    if (it == loop.pending.end()) {
        return;
    }
    epoll_ctl(loop.epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    auto key = std::move(it->second.key);
    loop.pending.erase(it);
    std::lock_guard lock(mutex_);
    releaseLocked(key);
}

}  // namespace imagebuild::forwarder
