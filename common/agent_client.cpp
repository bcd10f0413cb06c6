#include "common/agent_client.hpp"

#include <poll.h>

#include <sdbus-c++/sdbus-c++.h>

#include "common/dbus_names.hpp"
#include "common/sd_bus_of.hpp"
#include "dbus/Build1_proxy.h"
#include "dbus/BuildManager1_proxy.h"

namespace imagebuild {

namespace names = dbus_names;

// The manager's proxy. Registered (its signal matches added) only for
// onFinished(): calls need no registration.
class AgentClient::ManagerProxy final
    : public sdbus::ProxyInterfaces<org::imagebuild::BuildManager1_proxy, sdbus::Properties_proxy> {
public:
    explicit ManagerProxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, names::kBusName, names::kManagerPath) {}
    ~ManagerProxy() { unregisterProxy(); }

    void subscribe() {
        if (!subscribed_) {
            registerProxy();
            subscribed_ = true;
        }
    }

    sdbus::IProxy& raw() { return getProxy(); }

    std::function<void(const std::string& id)> finished;

private:
    bool subscribed_ = false;

    void onBuildQueued(const std::string&, const sdbus::ObjectPath&) override {}
    void onBuildStarted(const std::string&, const sdbus::ObjectPath&) override {}
    void onBuildFinished(const std::string& id, const sdbus::ObjectPath&,
                         const std::string&) override {
        if (finished) {
            finished(id);
        }
    }
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override {}
};

namespace {

// A build's object, for calls only (never registered: no matches).
class BuildProxy final
    : public sdbus::ProxyInterfaces<org::imagebuild::Build1_proxy, sdbus::Properties_proxy> {
public:
    BuildProxy(sdbus::IConnection& connection, const std::string& path)
        : ProxyInterfaces(connection, names::kBusName, path) {}
    ~BuildProxy() { unregisterProxy(); }

    sdbus::IProxy& raw() { return getProxy(); }

private:
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override {}
};

}  // namespace

AgentClient::AgentClient(AgentClientOptions options)
    : options_(options), connection_(sdbus::createSystemBusConnection()) {
    if (options_.callTimeout) {
        connection_->setMethodCallTimeout(*options_.callTimeout);
    }
    if (options_.interactive) {
        // sdbus-c++ 1.2 cannot flag one call (2.x can); sd-bus flags every
        // call of a bus that allows it (common/sd_bus_of.hpp).
        sd_bus_set_allow_interactive_authorization(sdBusOf(*connection_), 1);
    }
    manager_ = std::make_unique<ManagerProxy>(*connection_);
}

AgentClient::~AgentClient() = default;

// A call polkit may ask a person about: no timeout when interactive.
template <typename Call>
auto AgentClient::privileged(Call&& call) {
    auto timeout = options_.interactive ? UINT64_MAX : 0;
    return call(timeout);
}

std::string AgentClient::submit(const DbusSpec& spec) {
    return privileged([&](std::uint64_t timeout) {
        auto call = manager_->raw().createMethodCall(names::kManagerInterface, "Submit");
        call << spec;
        auto reply = manager_->raw().callMethod(call, timeout);
        std::string id;
        reply >> id;
        return id;
    });
}

std::string AgentClient::retry(const std::string& id, const DbusSpec& options) {
    return privileged([&](std::uint64_t timeout) {
        auto call = manager_->raw().createMethodCall(names::kManagerInterface, "Retry");
        call << id << options;
        auto reply = manager_->raw().callMethod(call, timeout);
        std::string newId;
        reply >> newId;
        return newId;
    });
}

void AgentClient::cancel(const std::string& id) {
    privileged([&](std::uint64_t timeout) {
        auto call = manager_->raw().createMethodCall(names::kManagerInterface, "CancelBuild");
        call << id;
        manager_->raw().callMethod(call, timeout);
    });
}

void AgentClient::setPinned(const std::string& id, bool pinned) {
    BuildProxy build(*connection_, manager_->GetBuild(id));
    privileged([&](std::uint64_t timeout) {
        auto call = build.raw().createMethodCall(names::kBuildInterface, "SetPinned");
        call << pinned;
        build.raw().callMethod(call, timeout);
    });
}

void AgentClient::listRows(const BuildListFilter& filter,
                           const std::function<void(const BuildListRow&)>& each) {
    listBuildRows(manager_->raw(), filter, each);
}

BuildInfo AgentClient::get(const std::string& id) {
    BuildProxy build(*connection_, manager_->GetBuild(id));
    return buildInfoFromProperties(build.GetAll(names::kBuildInterface));
}

std::string AgentClient::kickstart(const std::string& id) {
    BuildProxy build(*connection_, manager_->GetBuild(id));
    return build.GetKickstart();
}

HostInfo AgentClient::host() {
    return hostInfoFromProperties(manager_->GetAll(names::kManagerInterface));
}

void AgentClient::onFinished(std::function<void(const std::string& id)> finished) {
    if (finished) {
        manager_->subscribe();
    }
    manager_->finished = std::move(finished);
}

void AgentClient::dispatchUntil(const bool& flag, int timeoutMs) {
    while (connection_->processPendingRequest()) {
    }
    if (flag) {
        return;
    }
    auto data = connection_->getEventLoopPollData();
    pollfd fd{data.fd, static_cast<short>(data.events), 0};
    poll(&fd, 1, timeoutMs);
    while (connection_->processPendingRequest()) {
    }
}

bool AgentClient::stillOpen() {
    try {
        while (connection_->processPendingRequest()) {
        }
        return true;
    } catch (const sdbus::Error&) {
        return false;
    }
}

}  // namespace imagebuild
