// AgentOnLoop against a real dbus-daemon of the test's own (a session bus on
// a socket in a temporary directory, stopped by its pid) and an agent object
// served on it: the calls, the agent's named errors, a call the agent never
// answers, many at once, no bus at all, the bus going away, and the
// watched signals: a state change of a build, the agent starting again.
#include "forwarder/agent_on_loop.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "common/dbus_names.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild::forwarder {
namespace {

namespace names = imagebuild::dbus_names;
using namespace std::chrono_literals;

constexpr const char* kTestInterface = "org.imagebuild.Test";

// "c-1" -> the agent's object path of build c-1.
std::string buildPath(const std::string& id) {
    return std::string(names::kBuildPathPrefix) + "/c_2d" + id.substr(2);
}

// dbus-daemon on unix:path=<dir>/bus, the address read from its stdout.
class PrivateBus {
public:
    PrivateBus() {
        std::string tmpl = ::testing::TempDir() + "agent-on-loop.XXXXXX";
        dir_ = mkdtemp(tmpl.data());
        int out[2];
        EXPECT_EQ(pipe(out), 0);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], 1);
            std::string listen = "--address=unix:path=" + dir_ + "/bus";
            execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile",
                   listen.c_str(), "--print-address=1", static_cast<char*>(nullptr));
            _exit(127);
        }
        close(out[1]);
        char buffer[512];
        ssize_t n;
        while ((n = read(out[0], buffer, sizeof buffer)) > 0) {
            address_.append(buffer, static_cast<std::size_t>(n));
            if (address_.find('\n') != std::string::npos) {
                break;
            }
        }
        close(out[0]);
        address_ = address_.substr(0, address_.find('\n'));
    }
    ~PrivateBus() { stop(); }
    // SIGTERM: the daemon says goodbye (NameOwnerChanged of each name it
    // drops); SIGKILL: it is gone without a word, as on a crash.
    void stop(int signal = SIGTERM) {
        if (pid_ > 0) {
            kill(pid_, signal);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
        std::filesystem::remove_all(dir_);
    }
    const std::string& address() const { return address_; }

private:
    std::string dir_;
    std::string address_;
    pid_t pid_ = -1;
};

// The agent's two objects as far as a build's record needs them: GetBuild
// ("c-1" and "c-2" exist, "silent" is never answered, anything else is
// NotFound) and each build's Build1 properties. For the tests' own use (a
// connection of theirs calls them, so that the agent's connection is only
// ever used on its own thread): Emit(id, property), a PropertiesChanged
// of that build, and Restart, the agent's name released and taken again.
class FakeAgent {
public:
    explicit FakeAgent(const std::string& address)
        : connection_(sdbus::createSessionBusConnectionWithAddress(address)) {
        connection_->requestName(names::kBusName);
        manager_ = sdbus::createObject(*connection_, names::kManagerPath);
        manager_->registerMethod("GetBuild")
            .onInterface(names::kManagerInterface)
            .implementedAs([this](sdbus::Result<sdbus::ObjectPath>&& result, std::string id) {
                if (id == "silent") {
                    silent_.push_back(std::move(result));  // kept, never answered
                    ++silentCalls_;
                } else if (id == "c-1" || id == "c-2") {
                    result.returnResults(sdbus::ObjectPath(std::string(names::kBuildPathPrefix) +
                                                           "/c_2d" + id.substr(2)));
                } else {
                    result.returnError(
                        sdbus::Error(names::error::kNotFound, "no build with id " + id));
                }
            });
        manager_->registerMethod("Emit")
            .onInterface(kTestInterface)
            .implementedAs([this](std::string id, std::string property) {
                builds_.at(id == "c-1" ? 0 : 1)
                    ->emitPropertiesChangedSignal(names::kBuildInterface, {property});
            });
        manager_->registerMethod("Restart").onInterface(kTestInterface).implementedAs([this] {
            connection_->releaseName(names::kBusName);
            connection_->requestName(names::kBusName);
        });
        manager_->finishRegistration();
        for (std::string id : {"c-1", "c-2"}) {
            auto build = sdbus::createObject(
                *connection_, std::string(names::kBuildPathPrefix) + "/c_2d" + id.substr(2));
            build->registerProperty("Id").onInterface(names::kBuildInterface).withGetter([id] {
                return id;
            });
            build->registerProperty("State").onInterface(names::kBuildInterface).withGetter([] {
                return std::string("running");
            });
            build->registerProperty("Stalled").onInterface(names::kBuildInterface).withGetter([] {
                return false;
            });
            build->registerProperty("Pinned").onInterface(names::kBuildInterface).withGetter([] {
                return false;
            });
            build->finishRegistration();
            builds_.push_back(std::move(build));
        }
        // Not sdbus-c++'s event loop: that one throws out of its thread
        // when the bus dies, and a test kills the bus under a live agent.
        serving_ = std::thread([this] { serve(); });
    }
    ~FakeAgent() {
        stop_ = true;
        serving_.join();
    }
    int silentCalls() const { return silentCalls_; }

private:
    void serve() {
        try {
            while (!stop_) {
                while (connection_->processPendingRequest()) {
                }
                auto wait = connection_->getEventLoopPollData();
                pollfd fd{wait.fd, static_cast<short>(wait.events), 0};
                ::poll(&fd, 1, 20);
            }
        } catch (const sdbus::Error&) {  // the bus is gone: the agent with it
        }
    }

    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IObject> manager_;
    std::vector<std::unique_ptr<sdbus::IObject>> builds_;
    std::atomic<bool> stop_{false};
    std::thread serving_;  // last: started once everything above is made
    std::vector<sdbus::Result<sdbus::ObjectPath>> silent_;
    std::atomic<int> silentCalls_{0};
};

// What the tests ask of FakeAgent on a connection of their own.
class FakeAgentControl {
public:
    explicit FakeAgentControl(const std::string& address)
        : connection_(sdbus::createSessionBusConnectionWithAddress(address)),
          manager_(sdbus::createProxy(*connection_, names::kBusName, names::kManagerPath)) {}
    void emit(const std::string& id, const std::string& property) {
        manager_->callMethod("Emit").onInterface(kTestInterface).withArguments(id, property);
    }
    void restart() { manager_->callMethod("Restart").onInterface(kTestInterface); }
    // A PropertiesChanged of build `id`'s State sent by this connection,
    // not the agent's: anyone on the bus may send one.
    void impersonate(const std::string& id) {
        auto object = sdbus::createObject(*connection_, buildPath(id));
        auto signal = object->createSignal("org.freedesktop.DBus.Properties", "PropertiesChanged");
        signal << std::string(names::kBuildInterface)
               << std::map<std::string, sdbus::Variant>{{"State", sdbus::Variant("failed")}}
               << std::vector<std::string>{};
        object->emitSignal(signal);
    }

private:
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> manager_;
};

struct Outcome {
    bool called = false;
    std::string id;
    std::string state;
    std::string error;
};

class AgentOnLoopTest : public ::testing::Test {
public:  // to the tests' helpers too (Watching)
    AgentOnLoopTest() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {}

    // Connects to `address_` as it is at each connect.
    std::unique_ptr<AgentOnLoop> agentOn(const std::string& address) {
        address_ = address;
        return std::make_unique<AgentOnLoop>(epoll_.get(), [this] {
            if (beforeConnect_) {
                beforeConnect_();
            }
            auto connection = sdbus::createSessionBusConnectionWithAddress(address_);
            connection->setMethodCallTimeout(callTimeout_);
            return connection;
        });
    }

    static AgentOnLoop::BuildDone into(Outcome& outcome) {
        return [&outcome](BuildInfo* build, const sdbus::Error* error) {
            outcome.called = true;
            if (build) {
                outcome.id = build->id;
                outcome.state = build->state;
            } else {
                outcome.error = error->getName();
            }
        };
    }

    // The gate's loop in small: wait, hand over the events, dispatch what is
    // due, deliver; until `done` or 5 s.
    template <typename Done>
    void runUntil(AgentOnLoop& agent, Done done) {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            epoll_event events[8];
            int n = epoll_wait(epoll_.get(), events, 8, agent.hasEnded() ? 0 : 50);
            for (int i = 0; i < n; ++i) {
                EXPECT_TRUE(agent.handle(events[i].data.fd));
            }
            if (agent.busy()) {
                agent.dispatch();
            }
            agent.deliver();
        }
    }

    // One call, run until it ended; its `done` never runs inside the call.
    Outcome getBuild(AgentOnLoop& agent, const std::string& id) {
        Outcome outcome;
        agent.getBuild(id, into(outcome));
        EXPECT_FALSE(outcome.called);
        runUntil(agent, [&] { return outcome.called; });
        EXPECT_TRUE(outcome.called);
        return outcome;
    }

    UniqueFd epoll_;
    std::string address_;
    std::chrono::milliseconds callTimeout_ = 300ms;
    std::function<void()> beforeConnect_;  // on the connecting thread
};

TEST_F(AgentOnLoopTest, AsksGetBuildThenTheBuildsProperties) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    auto agent = agentOn(bus.address());
    auto outcome = getBuild(*agent, "c-1");
    EXPECT_EQ(outcome.id, "c-1");
    EXPECT_EQ(outcome.state, "running");
    EXPECT_EQ(outcome.error, "");
    EXPECT_FALSE(agent->busy());
}

TEST_F(AgentOnLoopTest, TheAgentsNamedErrorComesThrough) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    auto agent = agentOn(bus.address());
    EXPECT_EQ(getBuild(*agent, "c-9").error, names::error::kNotFound);
}

TEST_F(AgentOnLoopTest, ACallTheAgentNeverAnswersEndsAtTheTimeout) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    auto agent = agentOn(bus.address());
    Outcome silent, answered;
    auto start = std::chrono::steady_clock::now();
    agent->getBuild("silent", into(silent));
    agent->getBuild("c-2", into(answered));
    runUntil(*agent, [&] { return answered.called; });
    EXPECT_FALSE(silent.called);  // one waiting call holds no other
    EXPECT_EQ(answered.id, "c-2");
    runUntil(*agent, [&] { return silent.called; });
    EXPECT_EQ(silent.error, "org.freedesktop.DBus.Error.NoReply");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST_F(AgentOnLoopTest, ManyCallsAtOnceEachGetTheirOwnAnswer) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    auto agent = agentOn(bus.address());
    std::vector<Outcome> outcomes(200);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        agent->getBuild(i % 3 == 2 ? "nope" : (i % 3 == 0 ? "c-1" : "c-2"), into(outcomes[i]));
    }
    auto all = [&] {
        return std::all_of(outcomes.begin(), outcomes.end(), [](auto& o) { return o.called; });
    };
    runUntil(*agent, all);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        SCOPED_TRACE(i);
        if (i % 3 == 2) {
            EXPECT_EQ(outcomes[i].error, names::error::kNotFound);
        } else {
            EXPECT_EQ(outcomes[i].id, i % 3 == 0 ? "c-1" : "c-2");
        }
    }
}

// The system bus refuses a connection's calls past 128 waiting replies: the
// calls past kMaxCallsInFlight wait in the client, not on the bus.
TEST_F(AgentOnLoopTest, AtMostKMaxCallsInFlightAreOnTheBus) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    callTimeout_ = 5s;  // none ends meanwhile
    auto agent = agentOn(bus.address());
    std::vector<Outcome> outcomes(AgentOnLoop::kMaxCallsInFlight + 36);
    for (auto& outcome : outcomes) {
        agent->getBuild("silent", into(outcome));
    }
    int inFlight = static_cast<int>(AgentOnLoop::kMaxCallsInFlight);
    runUntil(*agent, [&] { return fake.silentCalls() >= inFlight; });
    auto settle = std::chrono::steady_clock::now() + 100ms;
    runUntil(*agent, [&] { return std::chrono::steady_clock::now() >= settle; });
    EXPECT_EQ(fake.silentCalls(), inFlight);
    EXPECT_TRUE(agent->busy());
}

// A bus daemon that takes long to accept holds the connecting thread, not
// the loop: the call returns at once and the loop goes on meanwhile.
TEST_F(AgentOnLoopTest, ASlowConnectDoesNotHoldTheLoop) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    std::promise<void> accept;
    auto accepted = accept.get_future().share();
    beforeConnect_ = [accepted] {
        accepted.wait_for(5s);
    };
    auto agent = agentOn(bus.address());
    Outcome outcome;
    auto start = std::chrono::steady_clock::now();
    agent->getBuild("c-1", into(outcome));
    auto later = start + 200ms;
    runUntil(*agent, [&] { return std::chrono::steady_clock::now() >= later; });
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_FALSE(outcome.called);
    EXPECT_TRUE(agent->busy());
    accept.set_value();
    runUntil(*agent, [&] { return outcome.called; });
    EXPECT_EQ(outcome.id, "c-1");
}

TEST_F(AgentOnLoopTest, NoBusEndsTheCallWithTheConnectError) {
    auto agent = agentOn("unix:path=/nonexistent/imagebuild-test-bus");
    EXPECT_NE(getBuild(*agent, "c-1").error, "");
    EXPECT_FALSE(agent->busy());
}

// A caller's `done` that throws loses no other call's answer: the rest are
// delivered by the next deliver().
TEST_F(AgentOnLoopTest, ADoneThatThrowsLosesNoOtherAnswer) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    auto agent = agentOn(bus.address());
    Outcome first, second;
    bool thrown = false;
    agent->getBuild("c-1", [&](BuildInfo*, const sdbus::Error*) {
        first.called = true;
        thrown = true;
        throw std::runtime_error("a caller's failure");
    });
    agent->getBuild("c-2", into(second));
    // Both answers taken in before anything is delivered: one delivery.
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + 5s;
    while (!second.called && std::chrono::steady_clock::now() < deadline) {
        epoll_event events[8];
        int n = epoll_wait(epoll_.get(), events, 8, 20);
        for (int i = 0; i < n; ++i) {
            agent->handle(events[i].data.fd);
        }
        agent->dispatch();
        if (std::chrono::steady_clock::now() - start < 300ms) {
            continue;
        }
        try {
            agent->deliver();
        } catch (const std::runtime_error&) {
        }
    }
    EXPECT_TRUE(thrown);
    EXPECT_EQ(second.id, "c-2");
}

// No bus: the calls of the next second fail with the same error at once,
// without a connect (a thread) each; then a connect is tried again.
TEST_F(AgentOnLoopTest, AFailedConnectIsNotTriedAgainForASecond) {
    std::atomic<int> connects{0};
    beforeConnect_ = [&connects] {
        ++connects;
    };
    auto agent = agentOn("unix:path=/nonexistent/imagebuild-test-bus");
    auto first = getBuild(*agent, "c-1").error;
    EXPECT_NE(first, "");
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(getBuild(*agent, "c-1").error, first);
    }
    EXPECT_EQ(connects.load(), 1);
    std::this_thread::sleep_for(AgentOnLoop::kConnectRetryAfter);
    EXPECT_EQ(getBuild(*agent, "c-1").error, first);
    EXPECT_EQ(connects.load(), 2);
}

TEST_F(AgentOnLoopTest, TheBusGoingAwayEndsTheCallsInFlightAndTheNextConnectsAgain) {
    callTimeout_ = 5s;
    auto bus = std::make_unique<PrivateBus>();
    auto fake = std::make_unique<FakeAgent>(bus->address());
    auto agent = agentOn(bus->address());
    ASSERT_EQ(getBuild(*agent, "c-1").id, "c-1");

    Outcome waiting;
    agent->getBuild("silent", into(waiting));
    runUntil(*agent, [&] { return fake->silentCalls() == 1; });
    auto stopped = std::chrono::steady_clock::now();
    fake.reset();
    bus->stop();
    runUntil(*agent, [&] { return waiting.called; });
    // Ended by the connection's end, not by the call's timeout (5 s).
    EXPECT_TRUE(waiting.called);
    EXPECT_LT(std::chrono::steady_clock::now() - stopped, 2s);
    EXPECT_NE(waiting.error, "");
    EXPECT_FALSE(agent->busy());

    PrivateBus again;
    FakeAgent fakeAgain(again.address());
    address_ = again.address();
    EXPECT_EQ(getBuild(*agent, "c-2").id, "c-2");
}

// What a watcher is told, "*" for any build.
std::function<void(const std::optional<std::string>&)> toldInto(std::vector<std::string>& told) {
    return [&told](const std::optional<std::string>& id) {
        told.push_back(id.value_or("*"));
    };
}

// A watcher of the fake agent's signals, connected (its first call made).
struct Watching {
    explicit Watching(AgentOnLoopTest& test);
    PrivateBus bus;
    FakeAgent fake{bus.address()};
    FakeAgentControl control{bus.address()};
    std::unique_ptr<AgentOnLoop> agent;
    std::vector<std::string> told;
    std::vector<std::string> toldOnConnecting;  // then `told` is emptied
};

Watching::Watching(AgentOnLoopTest& test) : agent(test.agentOn(bus.address())) {
    agent->watchBuilds(toldInto(told));
    EXPECT_EQ(test.getBuild(*agent, "c-1").id, "c-1");
    toldOnConnecting = std::exchange(told, {});
}

TEST_F(AgentOnLoopTest, AWatcherIsToldOfAStateChangeNamingTheBuild) {
    Watching w(*this);
    // Connected: anything may have changed before the matches were in place.
    EXPECT_EQ(w.toldOnConnecting, std::vector<std::string>{"*"});
    w.control.emit("c-2", "State");
    runUntil(*w.agent, [&] { return !w.told.empty(); });
    EXPECT_EQ(w.told, std::vector<std::string>{"c-2"});
    // Pinned is no state: not said. The bus keeps the order of one sender's
    // signals, so once c-1's stall is told Pinned has come and gone.
    w.told.clear();
    w.control.emit("c-1", "Pinned");
    w.control.emit("c-1", "Stalled");
    runUntil(*w.agent, [&] { return !w.told.empty(); });
    EXPECT_EQ(w.told, std::vector<std::string>{"c-1"});
}

TEST_F(AgentOnLoopTest, OnlyTheAgentsOwnSignalsAreTold) {
    Watching w(*this);
    w.control.impersonate("c-1");
    w.control.emit("c-2", "State");  // after the other, in the bus's order
    runUntil(*w.agent, [&] { return !w.told.empty(); });
    EXPECT_EQ(w.told, std::vector<std::string>{"c-2"});
}

TEST_F(AgentOnLoopTest, AnAgentThatStartsAgainIsAnyBuildChanged) {
    Watching w(*this);
    w.control.restart();
    runUntil(*w.agent, [&] { return w.told.size() >= 2; });  // the name lost, then owned again
    EXPECT_EQ(w.told, (std::vector<std::string>{"*", "*"}));
}

TEST_F(AgentOnLoopTest, WithoutAWatcherNoSignalIsTakenIn) {
    PrivateBus bus;
    FakeAgent fake(bus.address());
    FakeAgentControl control(bus.address());
    auto agent = agentOn(bus.address());
    ASSERT_EQ(getBuild(*agent, "c-1").id, "c-1");
    control.emit("c-1", "State");
    // A call after the signal: its answer comes after the signal would have.
    ASSERT_EQ(getBuild(*agent, "c-2").id, "c-2");
    EXPECT_FALSE(agent->hasEnded());
}

TEST_F(AgentOnLoopTest, ABrokenConnectionTellsTheWatcherAfterTheCallsFail) {
    callTimeout_ = 5s;
    auto bus = std::make_unique<PrivateBus>();
    auto fake = std::make_unique<FakeAgent>(bus->address());
    auto agent = agentOn(bus->address());
    std::vector<std::string> told;
    agent->watchBuilds(toldInto(told));
    ASSERT_EQ(getBuild(*agent, "c-1").id, "c-1");
    told.clear();
    Outcome waiting;
    std::size_t toldBeforeTheFailure = 0;
    agent->getBuild("silent", [&](BuildInfo*, const sdbus::Error* error) {
        waiting.called = true;
        waiting.error = error ? error->getName() : "";
        toldBeforeTheFailure = told.size();
    });
    runUntil(*agent, [&] { return fake->silentCalls() == 1; });
    bus->stop(SIGKILL);  // no NameOwnerChanged of the agent's name first
    runUntil(*agent, [&] { return waiting.called && told.size() > toldBeforeTheFailure; });
    EXPECT_NE(waiting.error, "");
    // The failure, then "ask again": the watcher asks on a new connection.
    EXPECT_EQ(toldBeforeTheFailure, 0u);
    EXPECT_EQ(told, std::vector<std::string>{"*"});
}

}  // namespace
}  // namespace imagebuild::forwarder
