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
    : keptFor_(keptFor), maxEngines_(maxEngines) {}
ExchangePool::~ExchangePool() = default;

// An idle engine, or a new one while fewer than kMaxEngines exist; else
// waits for one until `deadline` (nullptr then).
std::unique_ptr<ExchangePool::Engine> ExchangePool::take(
    std::chrono::steady_clock::time_point deadline) {
    std::unique_ptr<Engine> engine;
    {
        std::unique_lock lock(mutex_);
        for (;;) {
            // The one idle longest is dropped once its connections are past
            // the peers' keep-alive: each would be a send into a closed socket.
            auto now = std::chrono::steady_clock::now();
            engines_ -= std::erase_if(
                idle_, [this, now](const auto& e) { return now - e->idleSince > keptFor_; });
            if (!idle_.empty()) {
                engine = std::move(idle_.back());
                idle_.pop_back();
                break;
            }
            if (engines_ < maxEngines_) {
                ++engines_;
                break;
            }
            if (freed_.wait_until(lock, deadline) == std::cv_status::timeout) {
                return nullptr;
            }
        }
    }
    if (!engine) {
        try {
            return std::make_unique<Engine>();
        } catch (...) {
            dropped();
            throw;
        }
    }
    engine->catchUp();
    return engine;
}

void ExchangePool::giveBack(std::unique_ptr<Engine> engine) {
    engine->idleSince = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        if (idle_.size() < kKeptEngines) {
            idle_.push_back(std::move(engine));
        } else {
            --engines_;
        }
    }
    freed_.notify_one();
}

void ExchangePool::dropped() {
    {
        std::lock_guard lock(mutex_);
        --engines_;
    }
    freed_.notify_one();
}

void ExchangePool::exchangeAll(std::vector<HttpLoopRequest> requests, const ExchangeDone& done) {
    if (requests.empty()) {
        return;
    }
    auto longest = std::max_element(requests.begin(), requests.end(), [](auto& a, auto& b) {
                       return a.timeout < b.timeout;
                   })->timeout;
    auto engine = take(std::chrono::steady_clock::now() + longest);
    if (!engine) {
        HttpError busy(HttpStep::Connect, "connecting",
                       fmt::format("all {} fleet-wide answers' connections were busy for {} ms",
                                   maxEngines_, longest.count()),
                       true);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            done(i, nullptr, &busy);
        }
        return;
    }
    try {
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
            int n =
                epoll_wait(engine->epoll.get(), events, 64, client.hasEnded() ? 0 : kExpireEveryMs);
            for (int i = 0; i < n; ++i) {
                client.handle(events[i].data.fd, events[i].events);
            }
            client.expire(HttpLoopClient::Clock::now());
            client.deliver();
        }
    } catch (...) {
        dropped();  // the engine goes with the exception
        throw;
    }
    giveBack(std::move(engine));  // with its idle connections, for the next answer
}

}  // namespace imagebuild::forwarder
