#include "common/http_loop_client.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory_resource>
#include <tuple>

#include "common/deliver_each.hpp"
#include "common/http_message.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild {

namespace http = boost::beast::http;

namespace {

// Set once, when the socket is made, and never changed: edge-triggered, so
// an idle socket wakes the loop only when something happens to it (the
// server closed it, or sent what nobody asked for: it is closed then), and
// a request on a pooled one costs no epoll_ctl (a change of the set would
// also report the socket writable once more, a wake for nothing).
constexpr std::uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

// The address's bytes; of an IPv4 one without its zero padding, so that
// the key fits in the string itself (a relayed request makes, and a parked
// connection copies, one each).
std::string keyOf(const HttpLoopRequest& request) {
    std::size_t length = request.length;
    if (request.address.ss_family == AF_INET) {
        length = std::min<std::size_t>(length, offsetof(sockaddr_in, sin_zero));
    }
    return std::string(reinterpret_cast<const char*>(&request.address), length);
}

}  // namespace

UniqueFd startConnecting(const HttpLoopRequest& request, bool& inProgress) {
    const auto* address = reinterpret_cast<const sockaddr*>(&request.address);
    UniqueFd fd(socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        throw HttpError(HttpStep::Connect, "connecting", std::strerror(errno), false);
    }
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int connected = connect(fd.get(), address, request.length);
    if (connected != 0 && errno != EINPROGRESS) {
        throw HttpError(HttpStep::Connect, "connecting", std::strerror(errno), false);
    }
    inProgress = connected != 0;
    return fd;
}

// The answer's fields are read into the call's own bytes: Beast allocates
// each field apart, and a loop relaying tens of thousands of answers a
// second would make as many allocations of them (more fields than fit go
// to the heap). Room for a forwarder's usual answer (Date, Content-Type,
// Content-Length and two more), and no more: see kCallBytes.
constexpr std::size_t kFieldBytes = 320;
using FieldAllocator = std::pmr::polymorphic_allocator<char>;

struct HttpLoopClient::Call {
    Call()
        : fieldArena(fieldBytes, sizeof(fieldBytes)),
          parser(std::piecewise_construct, std::make_tuple(),
                 std::make_tuple(FieldAllocator(&fieldArena))) {}
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    HttpLoopRequest request;
    HttpLoopDone done;
    std::string key;
    UniqueFd fd;
    bool connecting = false;
    bool reused = false;
    bool answering = false;    // a byte of the answer came
    std::uint32_t events = 0;  // of the wake being handled
    std::size_t sent = 0;
    std::string unparsed;  // read, not yet taken by the parser (a partial head)
    std::byte fieldBytes[kFieldBytes];
    std::pmr::monotonic_buffer_resource fieldArena;
    http::response_parser<http::string_body, FieldAllocator> parser;
    Clock::time_point deadline;
};

// glibc serves blocks up to 1,032 bytes from a per-thread cache, larger
// ones from its arena, several times slower: a call made for every relayed
// request stays below.
constexpr std::size_t kCallBytes = 1032;

HttpLoopClient::HttpLoopClient(int epollFd, Options options) : epoll_(epollFd), options_(options) {}

HttpLoopClient::~HttpLoopClient() {
    for (const auto& [fd, key] : idleKeys_) {
        ::close(fd);
    }
}

void HttpLoopClient::start(HttpLoopRequest request, HttpLoopDone done) {
    static_assert(sizeof(Call) <= kCallBytes, "a Call outgrew malloc's thread cache");
    auto call = std::make_unique<Call>();
    call->key = keyOf(request);
    call->deadline = Clock::now() + request.timeout;
    call->request = std::move(request);
    call->done = std::move(done);
    open(std::move(call));
}

// On a pooled connection if one is idle, else on a new one (whose connect
// ends with an EPOLLOUT).
void HttpLoopClient::open(std::unique_ptr<Call> call) {
    call->parser.body_limit(options_.bodyLimit);
    call->parser.eager(true);
    call->parser.skip(call->request.headOnly);
    auto pool = idle_.find(call->key);
    if (pool != idle_.end() && !pool->second.empty()) {
        int fd = pool->second.back();
        pool->second.pop_back();
        idleKeys_.erase(fd);
        call->fd = UniqueFd(fd);
        call->reused = true;
    } else {
        auto& open = open_[call->key];
        if (options_.maxOpenPerAddress != 0 && open >= options_.maxOpenPerAddress) {
            auto& queue = waiting_[call->key];
            queue.push_back(std::move(call));
            return;
        }
        try {
            call->fd = startConnecting(call->request, call->connecting);
        } catch (const HttpError& e) {
            return fail(*call, HttpStep::Connect, "connecting", e.detail());
        }
        ++open;
        epoll_event event{kEvents, {}};
        event.data.fd = call->fd.get();
        epoll_ctl(epoll_, EPOLL_CTL_ADD, call->fd.get(), &event);
    }
    int fd = call->fd.get();
    auto& placed = *calls_.emplace(fd, std::move(call)).first->second;
    if (!placed.connecting) {
        progress(placed, EPOLLOUT);
    }
}

bool HttpLoopClient::handle(int fd, std::uint32_t events) {
    if (auto it = calls_.find(fd); it != calls_.end()) {
        progress(*it->second, events);
        return true;
    }
    if (idleKeys_.count(fd) != 0) {
        closeIdle(fd);
        return true;
    }
    return false;
}

void HttpLoopClient::progress(Call& call, std::uint32_t events) {
    call.events = events;
    if (call.connecting) {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) {
            return;
        }
        int error = 0;
        socklen_t length = sizeof(error);
        getsockopt(call.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            return fail(call, HttpStep::Connect, "connecting", std::strerror(error));
        }
        call.connecting = false;
    }
    // Right after the request went out its answer cannot be there yet: a
    // read waits for the edge that says it is (one system call less each).
    constexpr std::uint32_t kReadable = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
    if (sendRest(call) && (events & kReadable) != 0) {
        receive(call);
    }
}

// True: all of the request is sent.
bool HttpLoopClient::sendRest(Call& call) {
    const auto& bytes = call.request.bytes;
    while (call.sent < bytes.size()) {
        ssize_t n = ::send(call.fd.get(), bytes.data() + call.sent, bytes.size() - call.sent,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            call.sent += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return false;  // the next EPOLLOUT goes on
        } else if (errno != EINTR) {
            bool closed = errno == EPIPE || errno == ECONNRESET;
            fail(call, HttpStep::Send, "sending", std::strerror(errno), closed);
            return false;
        }
    }
    return true;
}

// Reads what has come; false once the call ended.
bool HttpLoopClient::receive(Call& call) {
    char buffer[16384];
    for (;;) {
        ssize_t n = recv(call.fd.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n > 0) {
            call.answering = true;
            if (!feed(call, buffer, static_cast<std::size_t>(n))) {
                return false;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail(call, HttpStep::Receive, "reading the response", std::strerror(errno),
                 !call.answering && errno == ECONNRESET);
            return false;
        }
        // The end of the stream: an answer without a length ends here.
        boost::beast::error_code ec;
        if (call.answering && call.unparsed.empty()) {
            call.parser.put_eof(ec);
        }
        if (call.answering && !ec && call.parser.is_done()) {
            complete(call, false);
        } else {
            fail(call, HttpStep::Receive, "reading the response",
                 http::make_error_code(http::error::end_of_stream).message(), !call.answering);
        }
        return false;
    }
}

// Gives the parser what came; false once the call ended (its answer whole,
// or not HTTP).
bool HttpLoopClient::feed(Call& call, const char* data, std::size_t size) {
    std::string_view input(data, size);
    if (!call.unparsed.empty()) {
        call.unparsed.append(data, size);
        input = call.unparsed;
    }
    boost::beast::error_code ec;
    while (!input.empty() && !call.parser.is_done()) {
        auto used = call.parser.put(boost::asio::buffer(input.data(), input.size()), ec);
        input.remove_prefix(used);
        if (ec == http::error::need_more) {
            ec = {};
            break;
        }
        if (ec) {
            fail(call, HttpStep::Receive, "reading the response", ec.message());
            return false;
        }
    }
    if (call.parser.is_done()) {
        // Bytes after the answer: nothing asked for them, so the connection
        // is not to be trusted with another request. Nor if the server
        // closed it already: that edge came with this wake, and an idle
        // socket would hear of it no more.
        bool closing = (call.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        complete(call, input.empty() && !closing && call.parser.get().keep_alive());
        return false;
    }
    call.unparsed = std::string(input);
    return true;
}

void HttpLoopClient::complete(Call& call, bool reusable) {
    auto response = responseOf(call.parser.get());
    auto it = calls_.find(call.fd.get());
    auto owned = std::move(it->second);
    calls_.erase(it);
    if (reusable) {
        park(owned->fd.release(), owned->key);
    } else {
        owned->fd = {};
        closed(owned->key);
    }
    ended_.push_back({std::move(owned->done), std::move(response), nullptr});
}

// A pooled connection closed under us (nothing of an answer came, no
// timeout) is tried again once on a fresh one: the server never saw the
// request, or dropped it unanswered as it closed.
void HttpLoopClient::fail(Call& call, HttpStep step, const char* words, std::string detail,
                          bool closedUnderUs, bool timedOut) {
    std::unique_ptr<Call> owned;
    if (auto it = call.fd ? calls_.find(call.fd.get()) : calls_.end(); it != calls_.end()) {
        owned = std::move(it->second);
        calls_.erase(it);
    }
    Call& failed = owned ? *owned : call;
    auto key = failed.key;
    bool hadConnection = static_cast<bool>(failed.fd);
    if (hadConnection) {
        failed.fd = {};
        forget(key);
    }
    if (failed.reused && closedUnderUs && !timedOut) {
        // The retry takes the freed place first: it has waited already.
        auto again = std::make_unique<Call>();
        again->request = std::move(failed.request);
        again->done = std::move(failed.done);
        again->key = std::move(failed.key);
        again->deadline = failed.deadline;
        open(std::move(again));
    } else {
        ended_.push_back({std::move(failed.done), std::nullopt,
                          std::make_unique<HttpError>(step, words, std::move(detail), timedOut)});
    }
    if (hadConnection) {
        startWaiting(key);
    }
}

void HttpLoopClient::expire(Clock::time_point now) {
    std::vector<Call*> late;
    for (auto& [fd, call] : calls_) {
        if (call->deadline <= now) {
            late.push_back(call.get());
        }
    }
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        auto& queue = it->second;
        // Each call past its deadline, wherever it waits in the queue.
        for (auto call = queue.begin(); call != queue.end();) {
            if ((*call)->deadline > now) {
                ++call;
                continue;
            }
            auto detail = fmt::format("no connection to it came free within {} ms ({} open)",
                                      (*call)->request.timeout.count(), options_.maxOpenPerAddress);
            ended_.push_back({std::move((*call)->done), std::nullopt,
                              std::make_unique<HttpError>(HttpStep::Connect, "connecting",
                                                          std::move(detail), true, false,
                                                          /*busy=*/true)});
            call = queue.erase(call);
        }
        it = queue.empty() ? waiting_.erase(it) : std::next(it);
    }
    for (auto* call : late) {
        auto detail = fmt::format("no answer within {} ms", call->request.timeout.count());
        if (call->connecting) {
            fail(*call, HttpStep::Connect, "connecting", detail, false, true);
        } else if (call->sent < call->request.bytes.size()) {
            fail(*call, HttpStep::Send, "sending", detail, false, true);
        } else {
            fail(*call, HttpStep::Receive, "reading the response", detail, false, true);
        }
    }
}

// A `done` that throws: the exception goes to the caller, and the answers
// after it stay for the next deliver(), never lost (a gate's client would
// wait for its relayed answer until it gave up).
void HttpLoopClient::deliver() {
    std::vector<Ended> ended;
    ended.swap(ended_);
    deliverEach(ended, ended_, [](Ended& one) {
        one.done(one.response ? &*one.response : nullptr, one.error.get());
    });
    // The vector's room is kept for the next turn: a loop relaying many a
    // second would allocate it again each time.
    ended.clear();
    if (ended_.empty()) {
        ended_.swap(ended);
    }
}

void HttpLoopClient::park(int fd, const std::string& key) {
    auto& pool = idle_[key];
    if (pool.size() >= options_.maxIdlePerAddress) {
        ::close(fd);
        closed(key);
        return;
    }
    pool.push_back(fd);
    idleKeys_.emplace(fd, key);
    startWaiting(key);
}

void HttpLoopClient::closeIdle(int fd) {
    auto key = idleKeys_.find(fd);
    auto address = std::move(key->second);
    std::erase(idle_[address], fd);
    idleKeys_.erase(key);
    ::close(fd);
    closed(address);
}

void HttpLoopClient::closed(const std::string& key) {
    forget(key);
    startWaiting(key);
}

void HttpLoopClient::forget(const std::string& key) {
    if (auto it = open_.find(key); it != open_.end() && --it->second == 0) {
        open_.erase(it);
    }
}

bool HttpLoopClient::hasRoom(const std::string& key) const {
    if (auto pool = idle_.find(key); pool != idle_.end() && !pool->second.empty()) {
        return true;
    }
    auto open = open_.find(key);
    return options_.maxOpenPerAddress == 0 || open == open_.end() ||
           open->second < options_.maxOpenPerAddress;
}

// Connections came free (idle, or room for new ones): the requests that
// have waited longest take them, as many as there is room for (one whose
// connect fails at once leaves its room to the next).
void HttpLoopClient::startWaiting(const std::string& key) {
    for (;;) {
        auto it = waiting_.find(key);
        if (it == waiting_.end() || it->second.empty() || !hasRoom(key)) {
            return;
        }
        auto call = std::move(it->second.front());
        it->second.pop_front();
        if (it->second.empty()) {
            waiting_.erase(it);
        }
        open(std::move(call));
    }
}

std::size_t HttpLoopClient::waiting() const {
    std::size_t n = 0;
    for (const auto& [key, queue] : waiting_) {
        n += queue.size();
    }
    return n;
}

}  // namespace imagebuild
