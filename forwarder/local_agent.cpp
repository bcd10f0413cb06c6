#include "forwarder/local_agent.hpp"

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <mutex>
#include <type_traits>

#include "common/agent_client.hpp"
#include "common/build_id.hpp"
#include "common/capped_pool.hpp"
#include "forwarder/agent_bus.hpp"
#include "forwarder/agent_list_cache.hpp"
#include "forwarder/list_source.hpp"

namespace imagebuild::forwarder {

namespace {

// A pooled client is kept only if its calls failed, if at all, with the
// agent's own errors: anything else (the bus went away, a call timed out
// and its late reply may still come) drops it.
bool keepsConnection(const sdbus::Error& e) {
    return e.getName().rfind("org.imagebuild.Error.", 0) == 0;
}

// Agent clients (common/agent_client.hpp), each on its own system-bus
// connection, kept between calls. At most kMaxOpen are open at once: the
// system bus lets one user hold 256 connections (dbus-daemon's
// max_connections_per_user) and set up 64 at a time, and a thread per
// request calling at once, while the agent was slow, once opened one each
// and had the bus refuse the rest (45 of 300 requests a 500). Past the cap
// a call waits for a client to come free, as long as a call may take; at
// most kMaxIdle are kept open when idle.
class ClientPool {
public:
    // Runs `call` on a pooled client, given back unless the call broke it.
    template <typename Call>
    auto run(Call&& call) {
        CappedPool<imagebuild::AgentClient>::Held client(clients_, take());
        try {
            if constexpr (std::is_void_v<decltype(call(*client))>) {
                call(*client);
                client.giveBack();
            } else {
                auto result = call(*client);
                client.giveBack();
                return result;
            }
        } catch (const sdbus::Error& e) {
            if (keepsConnection(e)) {
                client.giveBack();
            }
            throw;
        }
    }

private:
    static constexpr std::size_t kMaxIdle = 4;
    static constexpr std::size_t kMaxOpen = kAgentConnections;

    // An idle client, or a new one while fewer than kMaxOpen are open, or
    // the first given back. A client whose connection the bus closed while
    // it was idle is dropped here rather than seen as a failed call.
    std::unique_ptr<imagebuild::AgentClient> take() {
        auto deadline = std::chrono::steady_clock::now() + kAgentCallTimeout;
        for (;;) {
            auto taken = clients_.take(deadline);
            if (taken.idle) {
                if (taken.idle->stillOpen()) {
                    return std::move(taken.idle);
                }
                taken.idle.reset();
                clients_.closed();
                continue;
            }
            if (taken.timedOut) {
                throw sdbus::Error("org.freedesktop.DBus.Error.NoReply",
                                   fmt::format("no connection to the agent came free within {} s: "
                                               "all {} were waiting for its answers",
                                               kAgentCallTimeout.count(), kMaxOpen));
            }
            try {
                return std::make_unique<imagebuild::AgentClient>(
                    AgentClientOptions{false, kAgentCallTimeout});
            } catch (...) {
                clients_.closed();
                throw;
            }
        }
    }

    CappedPool<imagebuild::AgentClient> clients_{kMaxOpen, kMaxIdle};
};

class DbusLocalAgent final : public LocalAgent {
public:
    std::string submit(const DbusSpec& spec) override {
        auto id = pool_.run([&](imagebuild::AgentClient& agent) { return agent.submit(spec); });
        listCache_.invalidate();
        return id;
    }

    std::vector<BuildInfo> list() override {
        std::vector<BuildInfo> out;
        listEach({}, [&out](BuildInfo&& build) { out.push_back(std::move(build)); });
        return out;
    }

    // From the kept list when nothing changed since it was read
    // (agent_list_cache.hpp), a page as the agent would answer it; which
    // source serves which filter: list_source.hpp.
    void listEach(const BuildListFilter& filter,
                  const std::function<void(BuildInfo&&)>& each) override {
        auto toInfo = [&each](const BuildListRow& row) {
            each(buildInfoFromListRow(row));
        };
        if (sourceBeforeCheck(filter, listCache_.holdsRows()) == ListSource::AgentPage) {
            listFromAgent(filter, toInfo);
            return;
        }
        auto found = listCache_.lookup();
        switch (sourceWithRows(filter, found.rows != nullptr)) {
            case ListSource::ReadAllAndKeep: {
                auto rows = std::make_shared<AgentListCache::Rows>();
                listFromAgent(filter, [&rows](const BuildListRow& row) { rows->push_back(row); });
                rows->shrink_to_fit();  // kept: no room for 16,384 rows when there are 10,000
                listCache_.store(found.generation, rows);
                pageOfRows(filter, *rows, toInfo);
                return;
            }
            case ListSource::KeptRows:
                pageOfRows(filter, *found.rows, toInfo);
                return;
            default:  // AgentFiltered
                listFromAgent(filter, toInfo);
                return;
        }
    }

    BuildInfo get(const std::string& id) override {
        return pool_.run([&](imagebuild::AgentClient& agent) { return agent.get(id); });
    }

    void cancel(const std::string& id) override {
        pool_.run([&](imagebuild::AgentClient& agent) { agent.cancel(id); });
        listCache_.invalidate();
    }

    std::string retry(const std::string& id, const std::string& submitter) override {
        auto newId = pool_.run([&](imagebuild::AgentClient& agent) {
            return agent.retry(id, {{"submitter", sdbus::Variant(submitter)}});
        });
        listCache_.invalidate();
        return newId;
    }

    std::string kickstart(const std::string& id) override {
        return pool_.run([&](imagebuild::AgentClient& agent) { return agent.kickstart(id); });
    }

    HostInfo host() override {
        return pool_.run([](imagebuild::AgentClient& agent) { return agent.host(); });
    }

private:
    void listFromAgent(const BuildListFilter& filter,
                       const std::function<void(const BuildListRow&)>& each) {
        pool_.run([&](imagebuild::AgentClient& agent) { agent.listRows(filter, each); });
    }

    ClientPool pool_;
    AgentListCache listCache_;
};

}  // namespace

void LocalAgent::listEach(const BuildListFilter& filter,
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

std::unique_ptr<LocalAgent> makeDbusLocalAgent() {
    return std::make_unique<DbusLocalAgent>();
}

}  // namespace imagebuild::forwarder
