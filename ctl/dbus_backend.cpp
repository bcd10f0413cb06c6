// The local agent, through the one agent client (common/agent_client.hpp).
// Every sdbus::Error leaves this file as a CtlError.

#include <fmt/format.h>

#include <sdbus-c++/sdbus-c++.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>

#include "common/agent_client.hpp"
#include "common/hashed_copy.hpp"
#include "common/list_builds.hpp"
#include "ctl/backend.hpp"
#include "ctl/ctl_error.hpp"
#include "ctl/error_map.hpp"
#include "ctl/polkit_agent.hpp"

namespace imagebuild::ctl {

namespace {

[[noreturn]] void rethrow(const sdbus::Error& e) {
    auto mapped = mapDbusError(e.getName(), e.getMessage());
    throw CtlError(mapped.exitCode, mapped.message);
}

// Every call goes through the one agent client (common/agent_client.hpp);
// this maps its errors and runs a tty polkit agent around the calls polkit
// may ask a person about.
class DbusBackend final : public Backend {
public:
    explicit DbusBackend(bool interactive) : interactive_(interactive) {
        try {
            agent_ = std::make_unique<AgentClient>(AgentClientOptions{interactive, {}});
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    BuildInfo submit(const BuildSpec& spec) override {
        return get(privileged([&] { return agent_->submit(specToVariants(spec)); }));
    }

    ListResult list(const std::vector<std::string>& states) override {
        ListResult result;
        listEach(states, [&result](BuildInfo&& b) { result.builds.push_back(std::move(b)); }, {});
        return result;
    }

    // One row at a time (common/list_builds.hpp): a list of 10,000 builds
    // never holds them all.
    // newest: one page of that size. Otherwise every build, a page at a
    // time from the oldest on (each page is the one after the last row of
    // the previous), so neither side holds the whole history at once.
    std::vector<std::string> listEach(const std::vector<std::string>& states,
                                      const std::function<void(BuildInfo&&)>& each,
                                      std::optional<std::uint32_t> newest) override {
        constexpr std::uint32_t kPage = 1000;
        BuildListFilter filter;
        filter.states = states;  // filtered by the agent
        filter.limit = newest ? *newest : kPage;
        if (!newest) {
            filter.after = std::uint64_t{0};  // from the oldest
        }
        try {
            for (;;) {
                std::uint32_t rows = 0;
                std::string last;
                agent_->listRows(filter, [&](const BuildListRow& row) {
                    ++rows;
                    last = row.get<0>();
                    each(buildInfoFromListRow(row));
                });
                if (newest || rows < kPage) {
                    break;
                }
                filter.after = last;
            }
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
        return {};
    }

    BuildInfo get(const std::string& id) override {
        try {
            return agent_->get(id);
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    void cancel(const std::string& id) override {
        privileged([&] { agent_->cancel(id); });
    }

    BuildInfo retry(const std::string& id) override {
        return get(privileged([&] { return agent_->retry(id); }));
    }

    void setPinned(const std::string& id, bool pinned) override {
        privileged([&] { agent_->setPinned(id, pinned); });
    }

    std::vector<HostInfo> hosts() override {
        try {
            auto host = agent_->host();
            host.healthy = true;  // it answered
            host.status = "up";
            return {host};
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    BuildInfo waitFinished(const std::string& id) override {
        // Subscribed (the proxy's match) before the first look at the state,
        // so an end between the look and the wait still wakes us.
        bool signalled = false;
        try {
            agent_->onFinished(
                [&](const std::string& finishedId) { signalled = signalled || finishedId == id; });
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
        auto info = get(id);
        while (!info.finished()) {
            // Re-read on the signal, and every few seconds anyway: a signal
            // is lost if the agent was restarted while we waited.
            try {
                agent_->dispatchUntil(signalled, kRecheckMs);
            } catch (const sdbus::Error& e) {
                rethrow(e);
            }
            signalled = false;
            info = get(id);
        }
        agent_->onFinished(nullptr);
        return info;
    }

    // The artifacts are on this host: copy the file, checking its sha256
    // when the agent knows it.
    void download(const BuildInfo&, const Artifact& artifact,
                  const std::string& destination) override {
        FileDigest digest;
        try {
            digest = copyFileHashing(artifact.path, destination);
        } catch (const std::system_error& e) {
            throw CtlError(
                e.code() == std::errc::no_such_file_or_directory ? kExitNotFound : kExitFailure,
                fmt::format("cannot copy the artifact {}: {}", artifact.name, e.what()));
        }
        if (!artifact.sha256.empty() && digest.sha256 != artifact.sha256) {
            std::filesystem::remove(destination);
            throw CtlError(kExitFailure,
                           fmt::format("{}: sha256 {} differs from the build's record {}",
                                       artifact.name, digest.sha256, artifact.sha256));
        }
    }

private:
    static constexpr int kRecheckMs = 5000;

    // Submit, retry, cancel and pin may need polkit: with a tty agent
    // running when interactive (the client flags the calls).
    template <typename Call>
    auto privileged(Call call) -> decltype(call()) {
        std::optional<PolkitTtyAgent> agent;
        if (interactive_) {
            agent.emplace();
        }
        try {
            return call();
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    bool interactive_;
    std::unique_ptr<AgentClient> agent_;
};

}  // namespace

std::unique_ptr<Backend> makeDbusBackend(bool interactive) {
    return std::make_unique<DbusBackend>(interactive);
}

int exitCodeForResult(const std::string& result) {
    if (result == "succeeded") {
        return kExitOk;
    }
    if (result == "cancelled") {
        return kExitCancelled;
    }
    if (result == "timed-out") {
        return kExitTimedOut;
    }
    return kExitFailure;
}

}  // namespace imagebuild::ctl
