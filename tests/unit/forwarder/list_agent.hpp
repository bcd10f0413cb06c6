// A forwarder with a fake agent that lists builds (and remembers the filter it
// was asked with), serving the shipped web interface: the fixture of the
// route tests that read builds.
#pragma once

#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dbus_names.hpp"
#include "forwarder/app.hpp"
#include "forwarder/local_agent.hpp"

namespace imagebuild::testing {

using namespace imagebuild::forwarder;

class ListAgent final : public LocalAgent {
public:
    std::vector<BuildInfo> builds;
    std::optional<BuildListFilter> asked;  // the last listEach's filter

    std::string submit(const DbusSpec&) override { return ""; }
    std::vector<BuildInfo> list() override { return builds; }
    void listEach(const BuildListFilter& filter,
                  const std::function<void(BuildInfo&&)>& each) override {
        asked = filter;
        LocalAgent::listEach(filter, each);
    }
    BuildInfo get(const std::string& id) override {
        for (const auto& b : builds) {
            if (b.id == id) {
                return b;
            }
        }
        throw sdbus::Error(dbus_names::error::kNotFound, "no build " + id);
    }
    void cancel(const std::string&) override {}
    std::string retry(const std::string&, const std::string&) override { return {}; }
    std::string kickstart(const std::string& id) override {
        get(id);
        return "%pre\necho '<script>alert(1)</script>'\n%end\n";
    }
    HostInfo host() override { return {}; }
};

inline BuildInfo info(const std::string& id, const std::string& state, std::uint64_t submitted) {
    BuildInfo b;
    b.id = id;
    b.host = "h";
    b.state = state;
    b.submittedAt = submitted;
    return b;
}

// 120 builds h-1..h-120, every third failed, the rest succeeded.
struct Web : ::testing::Test {
    Web()
        : app(parseConfig("[forwarder]\nwww_dir = " + std::string(IMAGEBUILD_WWW_SOURCE), "x"),
              TokenStore(), "h") {
        auto fake = std::make_unique<ListAgent>();
        agent = fake.get();
        for (int i = 1; i <= 120; ++i) {
            agent->builds.push_back(
                info("h-" + std::to_string(i), i % 3 ? "succeeded" : "failed", i));
        }
        app.setAgent(std::move(fake));
        registerRoutes(app);
    }

    Response call(Request r) { return app.dispatch(r); }

    App app;
    ListAgent* agent = nullptr;
};

}  // namespace imagebuild::testing
