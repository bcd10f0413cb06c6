#include "forwarder/fan_out.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

#include <fmt/format.h>

#include "common/unique_fd.hpp"

namespace imagebuild::forwarder {

namespace {

// How often the deadlines are looked at while nothing happens: an exchange
// past its timeout ends at most this much later.
constexpr int kExpireEveryMs = 50;

}  // namespace

// An epoll instance and the client whose sockets (in flight and idle) are
// in it; used by one thread at a time.
struct ExchangePool::Engine {
    Engine() : epoll(epoll_create1(EPOLL_CLOEXEC)) {
        if (!epoll) {
            throw std::system_error(errno, std::generic_category(), "epoll_create1");
        }
        client = std::make_unique<HttpLoopClient>(epoll.get(), HttpLoopClient::Options{});
    }
    // What happened to its idle connections while it sat in the pool (a
    // peer that closed one, or wrote to it): seen now, before a request
    // could go out on such a connection.
    void catchUp() {
        epoll_event events[64];
        for (int n; (n = epoll_wait(epoll.get(), events, 64, 0)) > 0;) {
            for (int i = 0; i < n; ++i) {
                client->handle(events[i].data.fd, events[i].events);
            }
            if (n < 64) {
                break;
            }
        }
    }

    UniqueFd epoll;
    std::unique_ptr<HttpLoopClient> client;  // before `epoll` in destruction
    std::chrono::steady_clock::time_point idleSince{};
};

ExchangePool::ExchangePool(std::chrono::milliseconds keptFor, std::size_t maxEngines)
    : keptFor_(keptFor), pool_(maxEngines, kKeptEngines) {}
ExchangePool::~ExchangePool() = default;

// An idle engine, or a new one while fewer than maxEngines exist; else
// waits for one until `deadline` (nullptr then). The ones idle past the
// peers' keep-alive are dropped: each of their connections would be a send
// into a closed socket.
std::unique_ptr<ExchangePool::Engine> ExchangePool::take(
    std::chrono::steady_clock::time_point deadline) {
    auto now = std::chrono::steady_clock::now();
    auto taken = pool_.take(
        deadline, [this, now](const Engine& engine) { return now - engine.idleSince > keptFor_; });
    if (taken.timedOut) {
        return nullptr;
    }
    try {
        if (!taken.idle) {
            return std::make_unique<Engine>();
        }
        taken.idle->catchUp();
        return std::move(taken.idle);
    } catch (...) {
        pool_.closed();
        throw;
    }
}

void ExchangePool::exchangeAll(std::vector<HttpLoopRequest> requests, const ExchangeDone& done) {
    if (requests.empty()) {
        return;
    }
    auto longest = std::max_element(requests.begin(), requests.end(), [](auto& a, auto& b) {
                       return a.timeout < b.timeout;
                   })->timeout;
    auto asked = std::chrono::steady_clock::now();
    auto engine = take(asked + longest);
    if (!engine) {
        HttpError busy(HttpStep::Connect, "connecting",
                       fmt::format("all {} fleet-wide answers' connections were busy for {} ms",
                                   pool_.maxOpen(), longest.count()),
                       true, false, /*busy=*/true);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            done(i, nullptr, &busy);
        }
        return;
    }
    CappedPool<Engine>::Held held(pool_, std::move(engine));  // closed with an exception
    // The wait for the engine counts against each request's timeout.
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - asked);
    for (auto& request : requests) {
        request.timeout = std::max(request.timeout - waited, std::chrono::milliseconds(1));
    }
    auto& client = *held->client;
    std::size_t left = requests.size();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        client.start(std::move(requests[i]),
                     [&done, &left, i](HttpResponse* response, const HttpError* error) {
                         --left;
                         done(i, response, error);
                     });
    }
    epoll_event events[64];
    while (left > 0) {
        int n = epoll_wait(held->epoll.get(), events, 64, client.hasEnded() ? 0 : kExpireEveryMs);
        for (int i = 0; i < n; ++i) {
            client.handle(events[i].data.fd, events[i].events);
        }
        client.expire(HttpLoopClient::Clock::now());
        client.deliver();
    }
    // With its idle connections, for the next answer.
    held->idleSince = std::chrono::steady_clock::now();
    held.giveBack();
}

}  // namespace imagebuild::forwarder
