#include "forwarder/agent_on_loop.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/build_id.hpp"
#include "common/dbus_names.hpp"
#include "common/deliver_each.hpp"
#include "common/unique_fd.hpp"
#include "forwarder/agent_bus.hpp"

namespace imagebuild::forwarder {

namespace names = imagebuild::dbus_names;

namespace {

constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";

// What a blocking call on a connection that broke would have thrown.
sdbus::Error disconnected(const std::string& why) {
    return sdbus::Error("org.freedesktop.DBus.Error.Disconnected",
                        "the connection to the system bus broke: " + why);
}

// A connect that could not even be tried, or ended without saying why.
sdbus::Error cannotConnect(const std::string& why) {
    return sdbus::Error("org.freedesktop.DBus.Error.Failed",
                        "cannot connect to the system bus: " + why);
}

// Whether a PropertiesChanged of a build object names its state: the agent
// also says so of Pinned, which changes nothing a follower is told.
bool namesState(sdbus::Message& message) {
    std::string interface;
    std::map<std::string, sdbus::Variant> changed;
    std::vector<std::string> invalidated;
    message >> interface >> changed >> invalidated;
    if (interface != names::kBuildInterface) {
        return false;
    }
    for (const char* property : {"State", "Result", "Stalled", "StalledSince"}) {
        if (changed.count(property) != 0 ||
            std::find(invalidated.begin(), invalidated.end(), property) != invalidated.end()) {
            return true;
        }
    }
    return false;
}

// The watch's matches on `connection`, made on the connecting thread (each
// a blocking AddMatch); their callbacks run inside dispatch() on the loop.
// A PropertiesChanged counts only from the agent's unique name (sd-bus
// matches a rule's sender against unique names only, so it is compared
// here) and of a build object's path.
template <typename Watched>
std::vector<sdbus::Slot> addBuildMatches(sdbus::IConnection& connection,
                                         const std::shared_ptr<Watched>& watched) {
    std::vector<sdbus::Slot> matches;
    matches.push_back(connection.addMatch(
        fmt::format("type='signal',interface='{}',member='PropertiesChanged',path_namespace='{}'",
                    kPropertiesInterface, names::kBuildPathPrefix),
        [watched](sdbus::Message& message) {
            auto id = buildIdFromObjectPath(message.getPath());
            if (!id || watched->agentOwner.empty() || message.getSender() != watched->agentOwner) {
                return;
            }
            try {
                if (!namesState(message)) {
                    return;
                }
            } catch (const sdbus::Error&) {  // not the signature we know: asked about
            }
            watched->signals.push_back(id);
        }));
    matches.push_back(
        connection.addMatch(agentNameOwnerChangedMatch(), [watched](sdbus::Message& message) {
            std::string name, oldOwner, newOwner;
            try {
                message >> name >> oldOwner >> newOwner;
                watched->agentOwner = newOwner;
            } catch (const sdbus::Error&) {
                watched->agentOwner.clear();  // unknown: no signal counts until asked again
            }
            watched->signals.push_back(std::nullopt);
        }));
    return matches;
}

// The agent's unique name now, "" if it is not running; asked after the
// matches are in place, so that a change of owner after it is seen.
std::string agentOwnerOn(sdbus::IConnection& connection) {
    auto bus = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::string owner;
    try {
        bus->callMethod("GetNameOwner")
            .onInterface("org.freedesktop.DBus")
            .withArguments(std::string(names::kBusName))
            .storeResultsTo(owner);
    } catch (const sdbus::Error& e) {
        if (e.getName() != "org.freedesktop.DBus.Error.NameHasNoOwner") {
            throw;
        }
    }
    return owner;
}

}  // namespace

// What the connecting thread hands over; shared with it, so that the loop
// may end meanwhile.
struct AgentOnLoop::Connecting {
    UniqueFd done;  // eventfd, written when the thread is done
    std::mutex mutex;
    std::unique_ptr<sdbus::IConnection> connection;
    std::vector<sdbus::Slot> matches;  // on `connection`: destroyed before it
    std::string agentOwner;            // with matches
    std::optional<sdbus::Error> error;
};

AgentOnLoop::AgentOnLoop(int epollFd, Connect connect)
    : epoll_(epollFd), connect_(std::move(connect)) {}

AgentOnLoop::~AgentOnLoop() {
    if (watchedFd_ >= 0) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, watchedFd_, nullptr);
    }
    if (connecting_) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, connecting_->done.get(), nullptr);
    }
    // Every proxy and match before the connection it was made on.
    ended_.clear();
    calls_.clear();
    manager_.reset();
    matches_.clear();
}

void AgentOnLoop::watchBuilds(BuildsChanged changed) {
    changed_ = std::move(changed);
}

void AgentOnLoop::getBuild(const std::string& id, BuildDone done) {
    queued_.push_back(Queued{id, std::move(done)});
    pump();
}

// The waiting calls go out while there is room, once connected.
void AgentOnLoop::pump() {
    if (queued_.empty()) {
        return;
    }
    if (!connection_) {
        if (lastConnectError_ && std::chrono::steady_clock::now() < retryConnectAt_) {
            failQueued(*lastConnectError_);  // at once, without a thread
            return;
        }
        startConnecting();
        return;
    }
    while (!queued_.empty() && calls_.size() < kMaxCallsInFlight && connection_) {
        auto next = std::move(queued_.front());
        queued_.pop_front();
        send(next.id, std::move(next.done));
    }
}

void AgentOnLoop::send(const std::string& id, BuildDone done) {
    auto key = nextKey_++;
    calls_.emplace(key, Call{std::move(done), nullptr});
    try {
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

void AgentOnLoop::startConnecting() {
    if (connecting_) {
        return;
    }
    auto connecting = std::make_shared<Connecting>();
    connecting->done = UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!connecting->done) {
        connectFailed(cannotConnect("no eventfd"));
        return;
    }
    auto watched = changed_ ? watched_ : nullptr;
    try {
        std::thread([connecting, connect = connect_, watched] {
            std::unique_ptr<sdbus::IConnection> connection;
            std::vector<sdbus::Slot> matches;
            std::string agentOwner;
            std::optional<sdbus::Error> error;
            try {
                connection = connect();
                if (watched) {
                    matches = addBuildMatches(*connection, watched);
                    agentOwner = agentOwnerOn(*connection);
                }
            } catch (const sdbus::Error& e) {
                error = e;
            } catch (const std::exception& e) {  // a connect of a test, say: never out of a thread
                error = cannotConnect(e.what());
            }
            if (error) {
                matches.clear();
                connection.reset();
            }
            {
                std::lock_guard lock(connecting->mutex);
                connecting->connection = std::move(connection);
                connecting->matches = std::move(matches);
                connecting->agentOwner = std::move(agentOwner);
                connecting->error = std::move(error);
            }
            std::uint64_t one = 1;
            (void)!write(connecting->done.get(), &one, sizeof one);
        }).detach();
    } catch (const std::system_error& e) {  // no thread left
        connectFailed(cannotConnect(e.what()));
        return;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = connecting->done.get();
    epoll_ctl(epoll_, EPOLL_CTL_ADD, connecting->done.get(), &event);
    connecting_ = std::move(connecting);
}

// The connecting thread is done: its connection is this loop's now, or its
// error ends the calls that waited for it.
void AgentOnLoop::connectEnded() {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, connecting_->done.get(), nullptr);
    std::unique_ptr<sdbus::IConnection> connection;
    std::vector<sdbus::Slot> matches;
    std::string agentOwner;
    std::optional<sdbus::Error> error;
    {
        std::lock_guard lock(connecting_->mutex);
        connection = std::move(connecting_->connection);
        matches = std::move(connecting_->matches);
        agentOwner = std::move(connecting_->agentOwner);
        error = std::move(connecting_->error);
    }
    connecting_.reset();
    if (!connection) {
        connectFailed(error ? *error : cannotConnect("no connection and no error"));
        return;
    }
    try {
        manager_ = sdbus::createProxy(*connection, names::kBusName, names::kManagerPath);
    } catch (const sdbus::Error& e) {
        matches.clear();
        connectFailed(e);
        return;
    }
    lastConnectError_.reset();
    connection_ = std::move(connection);
    matches_ = std::move(matches);
    if (changed_) {
        watched_->agentOwner = std::move(agentOwner);
        watched_->signals.push_back(std::nullopt);  // what changed before the matches is unknown
    }
    watch();
    pump();
}

// A connect that could not be made or used: the calls of the next second
// fail at once with `why`, without another try.
void AgentOnLoop::connectFailed(const sdbus::Error& why) {
    lastConnectError_ = why;
    retryConnectAt_ = std::chrono::steady_clock::now() + kConnectRetryAfter;
    failQueued(why);
}

void AgentOnLoop::failQueued(const sdbus::Error& why) {
    for (auto& call : queued_) {
        ended_.push_back(Ended{std::move(call.done), nullptr, std::nullopt, why});
    }
    queued_.clear();
}

bool AgentOnLoop::handle(int fd) {
    if (connecting_ && fd == connecting_->done.get()) {
        connectEnded();
        return true;
    }
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

// A `done` or `changed` that throws ends this delivery there: the exception
// goes to the caller, and what was not delivered yet stays for the next
// deliver(), never lost (a follow hub whose answer was lost would never ask
// about that build again).
void AgentOnLoop::deliver() {
    auto ended = std::move(ended_);
    ended_.clear();
    deliverEach(ended, ended_, [](Ended& call) {
        call.build.reset();  // outside its callbacks, while the connection lives
        call.done(call.info ? &*call.info : nullptr, call.error ? &*call.error : nullptr);
    });
    // After the calls: a signal that came with a failed call's error (the
    // connection broke) is what has its watcher ask again.
    auto signals = std::move(watched_->signals);
    watched_->signals.clear();
    deliverEach(signals, watched_->signals, [this](const auto& id) {
        if (changed_) {
            changed_(id);
        }
    });
    pump();
}

// Every call in flight ends with `why`; the connection is closed (the
// calls still waiting open another). Proxies go before the connection they were made on.
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
    matches_.clear();
    connection_.reset();
    if (changed_) {
        watched_->signals.push_back(std::nullopt);  // signals may have been lost with it
    }
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
