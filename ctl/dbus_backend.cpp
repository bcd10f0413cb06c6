// The local agent, through the proxies sdbus-c++-xml2cpp generates from
// dbus/*.xml. Every sdbus::Error leaves this file as a CtlError.
#include <poll.h>
#include <systemd/sd-bus.h>

#include <fmt/format.h>

#include <sdbus-c++/sdbus-c++.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>

#include "common/build_id.hpp"
#include "common/dbus_names.hpp"
#include "common/hashed_copy.hpp"
#include "common/list_builds.hpp"
#include "ctl/backend.hpp"
#include "ctl/ctl_error.hpp"
#include "ctl/error_map.hpp"
#include "ctl/polkit_agent.hpp"
#include "dbus/Build1_proxy.h"
#include "dbus/BuildManager1_proxy.h"

namespace imagebuild::ctl {

namespace {

namespace names = dbus_names;

class ManagerProxy final : public sdbus::ProxyInterfaces<org::imagebuild::BuildManager1_proxy> {
public:
    explicit ManagerProxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, names::kBusName, names::kManagerPath) {}
    ~ManagerProxy() { unregisterProxy(); }

    // The signal matches (an AddMatch round trip each) only for `wait`:
    // calls need no registration, and most verbs only call.
    void subscribe() {
        if (!subscribed_) {
            registerProxy();
            subscribed_ = true;
        }
    }

    // The generated methods cannot carry the interactive-authorization
    // flag; privileged calls are built on the underlying proxy instead.
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
};

class BuildProxy final
    : public sdbus::ProxyInterfaces<org::imagebuild::Build1_proxy, sdbus::Properties_proxy> {
public:
    BuildProxy(sdbus::IConnection& connection, const std::string& path)
        : ProxyInterfaces(connection, names::kBusName, path) {}  // calls only: no matches
    ~BuildProxy() { unregisterProxy(); }

    sdbus::IProxy& raw() { return getProxy(); }

private:
    void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                             const std::vector<std::string>&) override {}
};

// sdbus-c++ 1.2 cannot set ALLOW_INTERACTIVE_AUTHORIZATION on a call (2.x
// can). Message keeps its sd_bus_message* in a protected member, which a
// derived class may name; this reads it without touching anything else.
struct MessageAccess : sdbus::Message {
    static sd_bus_message* raw(sdbus::Message& message) {
        return static_cast<sd_bus_message*>(message.*(&MessageAccess::msg_));
    }
};

[[noreturn]] void rethrow(const sdbus::Error& e) {
    auto mapped = mapDbusError(e.getName(), e.getMessage());
    throw CtlError(mapped.exitCode, mapped.message);
}

class DbusBackend final : public Backend {
public:
    explicit DbusBackend(bool interactive) : interactive_(interactive) {
        try {
            connection_ = sdbus::createSystemBusConnection();
            manager_ = std::make_unique<ManagerProxy>(*connection_);
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    BuildInfo submit(const BuildSpec& spec) override {
        std::string id;
        sdbus::ObjectPath path;
        privileged(
            "Submit", [&](sdbus::MethodCall& call) { call << specToVariants(spec); },
            [&](sdbus::MethodReply& reply) { reply >> id >> path; });
        return get(id);
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
                listBuildRows(manager_->raw(), filter, [&](const BuildListRow& row) {
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
            auto path = manager_->GetBuild(id);
            BuildProxy build(*connection_, path);
            return buildInfoFromProperties(build.GetAll(names::kBuildInterface));
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    void cancel(const std::string& id) override {
        privileged(
            "CancelBuild", [&](sdbus::MethodCall& call) { call << id; },
            [](sdbus::MethodReply&) {});
    }

    BuildInfo retry(const std::string& id) override {
        std::string newId;
        sdbus::ObjectPath path;
        privileged(
            "Retry",
            [&](sdbus::MethodCall& call) { call << id << std::map<std::string, sdbus::Variant>{}; },
            [&](sdbus::MethodReply& reply) { reply >> newId >> path; });
        return get(newId);
    }

    void setPinned(const std::string& id, bool pinned) override {
        sdbus::ObjectPath path;
        try {
            path = manager_->GetBuild(id);
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
        BuildProxy build(*connection_, path);
        privileged(
            build.raw(), names::kBuildInterface, "SetPinned",
            [pinned](sdbus::MethodCall& call) { call << pinned; }, [](sdbus::MethodReply&) {});
    }

    std::vector<HostInfo> hosts() override {
        try {
            std::map<std::string, sdbus::Variant> all;
            manager_->raw()
                .callMethod("GetAll")
                .onInterface("org.freedesktop.DBus.Properties")
                .withArguments(std::string(names::kManagerInterface))
                .storeResultsTo(all);
            auto host = hostInfoFromProperties(all);
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
        manager_->subscribe();
        manager_->finished = [&](const std::string& finishedId) {
            signalled = signalled || finishedId == id;
        };
        auto info = get(id);
        while (!info.finished()) {
            // Re-read on the signal, and every few seconds anyway: a signal
            // is lost if the agent was restarted while we waited.
            dispatchUntil(signalled, kRecheckMs);
            signalled = false;
            info = get(id);
        }
        manager_->finished = nullptr;
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

    // Submit and cancel may need polkit: they go out with the interactive
    // flag (when allowed) and with a tty agent running.
    template <typename Fill, typename Read>
    void privileged(const char* method, Fill fill, Read read) {
        privileged(manager_->raw(), names::kManagerInterface, method, fill, read);
    }

    template <typename Fill, typename Read>
    void privileged(sdbus::IProxy& proxy, const char* interface, const char* method, Fill fill,
                    Read read) {
        std::optional<PolkitTtyAgent> agent;
        if (interactive_) {
            agent.emplace();
        }
        try {
            auto call = proxy.createMethodCall(interface, method);
            fill(call);
            sd_bus_message_set_allow_interactive_authorization(MessageAccess::raw(call),
                                                               interactive_ ? 1 : 0);
            // polkit may wait for a person to type a password: no D-Bus timeout.
            auto reply = proxy.callMethod(call, interactive_ ? UINT64_MAX : 0);
            read(reply);
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    void dispatchUntil(const bool& flag, int timeoutMs) {
        try {
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
        } catch (const sdbus::Error& e) {
            rethrow(e);
        }
    }

    bool interactive_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<ManagerProxy> manager_;
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
