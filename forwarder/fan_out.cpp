#include "forwarder/fan_out.hpp"

#include <sys/epoll.h>

#include <cerrno>
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
    UniqueFd epoll;
    std::unique_ptr<HttpLoopClient> client;  // before `epoll` in destruction
};

ExchangePool::ExchangePool() = default;
ExchangePool::~ExchangePool() = default;

std::unique_ptr<ExchangePool::Engine> ExchangePool::take() {
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            auto engine = std::move(idle_.back());
            idle_.pop_back();
            return engine;
        }
    }
    return std::make_unique<Engine>();
}

void ExchangePool::giveBack(std::unique_ptr<Engine> engine) {
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
