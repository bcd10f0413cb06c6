#include "forwarder/agent_client.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <mutex>
#include <type_traits>

#include "common/build_id.hpp"
#include "common/dbus_names.hpp"
#include "dbus/Build1_proxy.h"
#include "dbus/BuildManager1_proxy.h"
#include "forwarder/agent_bus.hpp"
#include "forwarder/agent_list_cache.hpp"

namespace imagebuild::forwarder {

namespace {

// Typed proxies. Calls are synchronous and signals are not wanted, so the
// proxies are never registered (no match rules, no event loop).
class ManagerProxy final
    : public sdbus::ProxyInterfaces<org::imagebuild::BuildManager1_proxy, sdbus::Properties_proxy> {
public:
    explicit ManagerProxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, dbus_names::kBusName, dbus_names::kManagerPath) {}

    sdbus::IProxy& raw() { return getProxy(); }

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

// A pooled connection is kept only if it was closed by no one and its calls
// failed, if at all, with the agent's own errors: anything else (the bus
// went away, a call timed out and its late reply may still come) drops it.
bool keepsConnection(const sdbus::Error& e) {
    return e.getName().rfind("org.imagebuild.Error.", 0) == 0;
}

// Idle system-bus connections. At most kMaxIdle are kept: more threads than
// that calling at once open their own and close them after.
class BusPool {
public:
    // Runs `call` on a pooled connection, given back unless the call broke it.
    template <typename Call>
    auto run(Call&& call) {
        auto connection = take();
        try {
            if constexpr (std::is_void_v<decltype(call(*connection))>) {
                call(*connection);
                giveBack(std::move(connection));
            } else {
                auto result = call(*connection);
                giveBack(std::move(connection));
                return result;
            }
        } catch (const sdbus::Error& e) {
            if (keepsConnection(e)) {
                giveBack(std::move(connection));
            }
            throw;
        }
    }

private:
    static constexpr std::size_t kMaxIdle = 4;

    std::unique_ptr<sdbus::IConnection> take() {
        while (auto connection = takeIdle()) {
            if (stillOpen(*connection)) {
                return connection;
            }
        }
        return connectForAgentCalls();
    }

    void giveBack(std::unique_ptr<sdbus::IConnection> connection) {
        std::lock_guard lock(mutex_);
        if (idle_.size() < kMaxIdle) {
            idle_.push_back(std::move(connection));
        }
    }

    std::unique_ptr<sdbus::IConnection> takeIdle() {
        std::lock_guard lock(mutex_);
        if (idle_.empty()) {
            return nullptr;
        }
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        return connection;
    }

    // Handles what arrived while it was idle (the bus's NameAcquired, a late
    // reply): nothing piles up in it, and a socket the bus closed shows here
    // rather than as a failed call.
    static bool stillOpen(sdbus::IConnection& connection) {
        try {
            while (connection.processPendingRequest()) {
            }
            return true;
        } catch (const sdbus::Error&) {
            return false;
        }
    }

    std::mutex mutex_;
    std::vector<std::unique_ptr<sdbus::IConnection>> idle_;
};

class DbusAgentClient final : public AgentClient {
public:
    std::string submit(const DbusSpec& spec) override {
        auto id = pool_.run([&](sdbus::IConnection& bus) {
            ManagerProxy manager(bus);
            return std::get<0>(manager.Submit(spec));
        });
        listCache_.invalidate();
        return id;
    }

    std::vector<BuildInfo> list() override {
        std::vector<BuildInfo> out;
        listEach({}, [&out](BuildInfo&& build) { out.push_back(std::move(build)); });
        return out;
    }

    // From the kept list when nothing changed since it was read
    // (agent_list_cache.hpp); a whole list read now is kept, a filtered one
    // is asked of the agent and not kept.
    void listEach(const BuildListFilter& filter,
                  const std::function<void(BuildInfo&&)>& each) override {
        if (filter.limit || filter.before.index() != 0 || filter.after.index() != 0) {
            // A page: the agent walks only to it; the whole list is not read.
            listFromAgent(filter,
                          [&each](const BuildListRow& row) { each(buildInfoFromListRow(row)); });
            return;
        }
        auto found = listCache_.lookup();
        if (!found.rows && filter.empty()) {
            auto rows = std::make_shared<AgentListCache::Rows>();
            listFromAgent(filter, [&rows](const BuildListRow& row) { rows->push_back(row); });
            rows->shrink_to_fit();  // kept: no room for 16,384 rows when there are 10,000
            listCache_.store(found.generation, rows);
            found.rows = std::move(rows);
        }
        if (found.rows) {
            for (const auto& row : *found.rows) {
                auto build = buildInfoFromListRow(row);
                if (matches(filter, build)) {
                    each(std::move(build));
                }
            }
            return;
        }
        listFromAgent(filter,
                      [&each](const BuildListRow& row) { each(buildInfoFromListRow(row)); });
    }

    BuildInfo get(const std::string& id) override {
        return buildInfoFromProperties(pool_.run([&](sdbus::IConnection& bus) {
            ManagerProxy manager(bus);
            BuildProxy build(bus, manager.GetBuild(id));
            return build.GetAll(dbus_names::kBuildInterface);
        }));
    }

    void cancel(const std::string& id) override {
        pool_.run([&](sdbus::IConnection& bus) {
            ManagerProxy manager(bus);
            manager.CancelBuild(id);
        });
        listCache_.invalidate();
    }

    std::string retry(const std::string& id, const std::string& submitter) override {
        auto newId = pool_.run([&](sdbus::IConnection& bus) {
            ManagerProxy manager(bus);
            return std::get<0>(manager.Retry(id, std::map<std::string, sdbus::Variant>{
                                                     {"submitter", sdbus::Variant(submitter)}}));
        });
        listCache_.invalidate();
        return newId;
    }

    std::string kickstart(const std::string& id) override {
        return pool_.run([&](sdbus::IConnection& bus) {
            ManagerProxy manager(bus);
            BuildProxy build(bus, manager.GetBuild(id));
            return build.GetKickstart();
        });
    }

    HostInfo host() override {
        return hostInfoFromProperties(pool_.run([](sdbus::IConnection& bus) {
            ManagerProxy manager(bus);
            return manager.GetAll(dbus_names::kManagerInterface);
        }));
    }

private:
    void listFromAgent(const BuildListFilter& filter,
                       const std::function<void(const BuildListRow&)>& each) {
        pool_.run([&](sdbus::IConnection& bus) {
            ManagerProxy manager(bus);
            listBuildRows(manager.raw(), filter, each);
        });
    }

    BusPool pool_;
    AgentListCache listCache_;
};

}  // namespace

void AgentClient::listEach(const BuildListFilter& filter,
                           const std::function<void(BuildInfo&&)>& each) {
    auto builds = list();
    auto page = selectPage(filter, builds.size(), [&](std::size_t i) {
        auto id = BuildId::parse(builds[i].id);
        return PageProbe{id ? id->number : 0, builds[i].submittedAt, matches(filter, builds[i])};
    });
    for (auto i : page) {
        each(std::move(builds[i]));
    }
}

std::unique_ptr<AgentClient> makeDbusAgentClient() {
    return std::make_unique<DbusAgentClient>();
}

}  // namespace imagebuild::forwarder
