#include "forwarder/agent_on_loop.hpp"

#include <poll.h>
#include <sys/epoll.h>

#include "common/dbus_names.hpp"

namespace imagebuild::forwarder {

namespace names = imagebuild::dbus_names;

namespace {

constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";

// What a blocking call on a connection that broke would have thrown.
sdbus::Error disconnected(const std::string& why) {
    return sdbus::Error("org.freedesktop.DBus.Error.Disconnected",
                        "the connection to the system bus broke: " + why);
}

}  // namespace

AgentOnLoop::AgentOnLoop(int epollFd, Connect connect)
    : epoll_(epollFd), connect_(std::move(connect)) {}

AgentOnLoop::~AgentOnLoop() {
    if (watchedFd_ >= 0) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, watchedFd_, nullptr);
    }
    // Every proxy before the connection it was made on.
    ended_.clear();
    calls_.clear();
    manager_.reset();
}

void AgentOnLoop::getBuild(const std::string& id, BuildDone done) {
    if (calls_.size() >= kMaxCallsInFlight) {
        queued_.push_back(Queued{id, std::move(done)});
        return;
    }
    send(id, std::move(done));
}

void AgentOnLoop::send(const std::string& id, BuildDone done) {
    auto key = nextKey_++;
    calls_.emplace(key, Call{std::move(done), nullptr});
    try {
        if (!connected()) {
            return;  // ended by disconnect()
        }
        // The connection's own timeout (kAgentCallTimeout) ends a call the
        // agent does not answer.
        (void)manager_->callMethodAsync("GetBuild")
            .onInterface(names::kManagerInterface)
            .withArguments(id)
            .uponReplyInvoke([this, key](const sdbus::Error* error, sdbus::ObjectPath path) {
                if (error) {
                    end(key, std::nullopt, *error);
                } else {
                    askProperties(key, path);
                }
            });
    } catch (const sdbus::Error& e) {
        end(key, std::nullopt, e);
    }
    watch();
}

// Sent from GetBuild's reply: the build object's properties.
void AgentOnLoop::askProperties(std::uint64_t key, const sdbus::ObjectPath& path) {
    auto it = calls_.find(key);
    if (it == calls_.end()) {
        return;
    }
    try {
        it->second.build = sdbus::createProxy(*connection_, names::kBusName, path);
        (void)it->second.build->callMethodAsync("GetAll")
            .onInterface(kPropertiesInterface)
            .withArguments(std::string(names::kBuildInterface))
            .uponReplyInvoke([this, key](const sdbus::Error* error,
                                         std::map<std::string, sdbus::Variant> properties) {
                if (error) {
                    end(key, std::nullopt, *error);
                    return;
                }
                try {
                    end(key, buildInfoFromProperties(properties), std::nullopt);
                } catch (const sdbus::Error& e) {  // a property of another type than ours
                    end(key, std::nullopt, e);
                }
            });
    } catch (const sdbus::Error& e) {
        end(key, std::nullopt, e);
    }
}

void AgentOnLoop::end(std::uint64_t key, std::optional<BuildInfo> info,
                      std::optional<sdbus::Error> error) {
    auto it = calls_.find(key);
    if (it == calls_.end()) {
        return;
    }
    ended_.push_back(Ended{std::move(it->second.done), std::move(it->second.build), std::move(info),
                           std::move(error)});
    calls_.erase(it);
}

// Connects when not connected; false (the calls ended) if it cannot.
bool AgentOnLoop::connected() {
    if (connection_) {
        return true;
    }
    try {
        connection_ = connect_();
        manager_ = sdbus::createProxy(*connection_, names::kBusName, names::kManagerPath);
        return true;
    } catch (const sdbus::Error& e) {
        manager_.reset();
        connection_.reset();
        disconnect(e);
        return false;
    }
}

bool AgentOnLoop::handle(int fd) {
    if (fd != watchedFd_ || fd < 0) {
        return false;
    }
    dispatch();
    return true;
}

void AgentOnLoop::dispatch() {
    if (!connection_) {
        return;
    }
    try {
        while (connection_->processPendingRequest()) {
        }
    } catch (const sdbus::Error& e) {
        disconnect(disconnected(e.getMessage()));
        return;
    }
    watch();
}

void AgentOnLoop::deliver() {
    auto ended = std::move(ended_);
    ended_.clear();
    for (auto& call : ended) {
        call.build.reset();  // outside its callbacks, while the connection lives
        call.done(call.info ? &*call.info : nullptr, call.error ? &*call.error : nullptr);
    }
    while (!queued_.empty() && calls_.size() < kMaxCallsInFlight) {
        auto next = std::move(queued_.front());
        queued_.pop_front();
        send(next.id, std::move(next.done));
    }
}

// Every call in flight ends with `why`; the connection is closed (the next
// call opens another). Proxies go before the connection they were made on.
void AgentOnLoop::disconnect(const sdbus::Error& why) {
    for (auto& [key, call] : calls_) {
        call.build.reset();
        ended_.push_back(Ended{std::move(call.done), nullptr, std::nullopt, why});
    }
    calls_.clear();
    for (auto& call : ended_) {
        call.build.reset();
    }
    if (watchedFd_ >= 0) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, watchedFd_, nullptr);
        watchedFd_ = -1;
        watchedEvents_ = 0;
    }
    manager_.reset();
    connection_.reset();
}

// The epoll set follows what sd-bus waits for: readable always, writable
// while it has queued bytes the socket did not take.
void AgentOnLoop::watch() {
    if (!connection_) {
        return;
    }
    sdbus::IConnection::PollData poll{};
    try {
        poll = connection_->getEventLoopPollData();
    } catch (const sdbus::Error& e) {  // a bus sd-bus closed meanwhile
        disconnect(disconnected(e.getMessage()));
        return;
    }
    std::uint32_t events =
        ((poll.events & POLLIN) ? EPOLLIN : 0u) | ((poll.events & POLLOUT) ? EPOLLOUT : 0u);
    if (poll.fd == watchedFd_ && events == watchedEvents_) {
        return;
    }
    epoll_event event{};
    event.events = events;
    event.data.fd = poll.fd;
    if (poll.fd != watchedFd_ && watchedFd_ >= 0) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, watchedFd_, nullptr);
        watchedFd_ = -1;
    }
    epoll_ctl(epoll_, watchedFd_ < 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, poll.fd, &event);
    watchedFd_ = poll.fd;
    watchedEvents_ = events;
}

}  // namespace imagebuild::forwarder
