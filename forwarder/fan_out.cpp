#include "forwarder/fan_out.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

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

ExchangePool::ExchangePool(std::chrono::milliseconds keptFor) : keptFor_(keptFor) {}
ExchangePool::~ExchangePool() = default;

std::unique_ptr<ExchangePool::Engine> ExchangePool::take() {
    std::unique_ptr<Engine> engine;
    {
        std::lock_guard lock(mutex_);
        // The one idle longest is dropped once its connections are past
        // the peers' keep-alive: each would be a send into a closed socket.
        auto now = std::chrono::steady_clock::now();
        std::erase_if(idle_, [this, now](const auto& e) { return now - e->idleSince > keptFor_; });
        if (!idle_.empty()) {
            engine = std::move(idle_.back());
            idle_.pop_back();
        }
    }
    if (!engine) {
        return std::make_unique<Engine>();
    }
    engine->catchUp();
    return engine;
}

void ExchangePool::giveBack(std::unique_ptr<Engine> engine) {
    engine->idleSince = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (idle_.size() < kKeptEngines) {
        idle_.push_back(std::move(engine));
    }
}

void ExchangePool::exchangeAll(std::vector<HttpLoopRequest> requests, const ExchangeDone& done) {
    if (requests.empty()) {
        return;
    }
    auto engine = take();
    auto& client = *engine->client;
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
        int n = epoll_wait(engine->epoll.get(), events, 64, client.hasEnded() ? 0 : kExpireEveryMs);
        for (int i = 0; i < n; ++i) {
            client.handle(events[i].data.fd, events[i].events);
        }
        client.expire(HttpLoopClient::Clock::now());
        client.deliver();
    }
    giveBack(std::move(engine));  // with its idle connections, for the next answer
}

}  // namespace imagebuild::forwarder
