#include "forwarder/agent_client.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include "common/build_id.hpp"
#include "common/dbus_names.hpp"
#include "dbus/Build1_proxy.h"
#include "dbus/BuildManager1_proxy.h"

namespace imagebuild::forwarder {

namespace {

// Typed proxies. Calls are synchronous and signals are not wanted, so the
// proxies are never registered (no match rules, no event loop).
class ManagerProxy final
    : public sdbus::ProxyInterfaces<org::imagebuild::BuildManager1_proxy, sdbus::Properties_proxy> {
public:
    explicit ManagerProxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, dbus_names::kBusName, dbus_names::kManagerPath) {}

private:
    void onBuildQueued(const std::string&, const sdbus::ObjectPath&) override {}
    void onBuildStarted(const std::string&, const sdbus::ObjectPath&) override {}
    void onBuildFinished(const std::string&, const sdbus::ObjectPath&,
                         const std::string&) override {}
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override {}
};

class BuildProxy final
    : public sdbus::ProxyInterfaces<org::imagebuild::Build1_proxy, sdbus::Properties_proxy> {
public:
    BuildProxy(sdbus::IConnection& connection, const std::string& path)
        : ProxyInterfaces(connection, dbus_names::kBusName, path) {}

private:
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override {}
};

template <typename T>
T property(const std::map<std::string, sdbus::Variant>& all, const char* key) {
    auto it = all.find(key);
    return it != all.end() && it->second.containsValueOfType<T>() ? it->second.get<T>() : T{};
}

// A call waits at most this long: an agent that cannot start (bad config) makes
// the bus wait 25 s for activation, which no HTTP client should.
constexpr auto kCallTimeout = std::chrono::seconds(10);

std::unique_ptr<sdbus::IConnection> connect() {
    auto connection = sdbus::createSystemBusConnection();
    connection->setMethodCallTimeout(kCallTimeout);
    return connection;
}

class DbusAgentClient final : public AgentClient {
public:
    std::string submit(const DbusSpec& spec) override {
        auto connection = connect();
        ManagerProxy manager(*connection);
        return std::get<0>(manager.Submit(spec));
    }

    std::vector<BuildInfo> list() override {
        auto connection = connect();
        ManagerProxy manager(*connection);
        std::vector<BuildInfo> out;
        for (const auto& row : manager.ListBuilds({})) {
            out.push_back(buildInfoFromListRow(row));
        }
        return out;
    }

    BuildInfo get(const std::string& id) override {
        auto connection = connect();
        ManagerProxy manager(*connection);
        BuildProxy build(*connection, manager.GetBuild(id));
        return buildInfoFromProperties(build.GetAll(dbus_names::kBuildInterface));
    }

    void cancel(const std::string& id) override {
        auto connection = connect();
        ManagerProxy manager(*connection);
        manager.CancelBuild(id);
    }

    std::string kickstart(const std::string& id) override {
        auto connection = connect();
        ManagerProxy manager(*connection);
        BuildProxy build(*connection, manager.GetBuild(id));
        return build.GetKickstart();
    }

    HostInfo host() override {
        auto connection = connect();
        ManagerProxy manager(*connection);
        auto all = manager.GetAll(dbus_names::kManagerInterface);
        HostInfo info;
        info.hostname = property<std::string>(all, "Hostname");
        info.arches = property<std::vector<std::string>>(all, "Arches");
        info.releases = property<std::vector<std::string>>(all, "Releases");
        info.imageTypes = property<std::vector<std::string>>(all, "ImageTypes");
        info.running = property<std::uint32_t>(all, "Running");
        info.queued = property<std::uint32_t>(all, "Queued");
        info.maxParallel = property<std::uint32_t>(all, "MaxParallel");
        return info;
    }
};

}  // namespace

std::unique_ptr<AgentClient> makeDbusAgentClient() {
    return std::make_unique<DbusAgentClient>();
}

}  // namespace imagebuild::forwarder
