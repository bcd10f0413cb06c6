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

void exchangeAll(std::vector<HttpLoopRequest> requests, const ExchangeDone& done) {
    if (requests.empty()) {
        return;
    }
    UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) {
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    }
    // Nothing is kept between two fleet-wide answers: no idle connections.
    HttpLoopClient client(epoll.get(), HttpLoopClient::Options{.maxIdlePerAddress = 0});
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
        int n = epoll_wait(epoll.get(), events, 64, client.hasEnded() ? 0 : kExpireEveryMs);
        for (int i = 0; i < n; ++i) {
            client.handle(events[i].data.fd, events[i].events);
        }
        client.expire(HttpLoopClient::Clock::now());
        client.deliver();
    }
}

}  // namespace imagebuild::forwarder
