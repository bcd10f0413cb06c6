#include <gtest/gtest.h>

#include "forwarder/placement.hpp"

using namespace imagebuild::forwarder;

namespace {

HostInfo host(std::string name, std::vector<std::string> arches, std::vector<std::string> releases,
              unsigned running, unsigned queued, unsigned maxParallel, bool healthy = true) {
    HostInfo h;
    h.hostname = std::move(name);
    h.url = "http://" + h.hostname + ":8470";
    h.arches = std::move(arches);
    h.releases = std::move(releases);
    h.imageTypes = {"boot", "dvd"};
    h.running = running;
    h.queued = queued;
    h.maxParallel = maxParallel;
    h.healthy = healthy;
    h.status = healthy ? "up" : "down";
    return h;
}

std::vector<std::string> names(const std::vector<HostInfo>& hosts) {
    std::vector<std::string> out;
    for (const auto& h : hosts) {
        out.push_back(h.hostname);
    }
    return out;
}

}  // namespace

TEST(ForwarderPlacement, OnlyHostsServingTheWholeTriple) {
    std::vector<HostInfo> fleet{host("a", {"x86_64"}, {"f40"}, 0, 0, 2),
                                host("b", {"aarch64"}, {"f40"}, 0, 0, 2),
                                host("c", {"x86_64"}, {"f41"}, 0, 0, 2)};
    EXPECT_EQ(names(placementCandidates(fleet, "boot", "x86_64", "f40")),
              std::vector<std::string>{"a"});
    EXPECT_EQ(names(placementCandidates(fleet, "boot", "aarch64", "f40")),
              std::vector<std::string>{"b"});
    EXPECT_TRUE(placementCandidates(fleet, "live", "x86_64", "f40").empty());
    EXPECT_TRUE(placementCandidates(fleet, "boot", "ppc64le", "f40").empty());
}

TEST(ForwarderPlacement, LeastLoadedPerSlotFirst) {
    std::vector<HostInfo> fleet{host("a", {"x86_64"}, {"f40"}, 2, 0, 2),   // full
                                host("b", {"x86_64"}, {"f40"}, 1, 0, 4),   // 1/4
                                host("c", {"x86_64"}, {"f40"}, 0, 0, 1),   // idle
                                host("d", {"x86_64"}, {"f40"}, 0, 0, 1)};  // idle, later name
    EXPECT_EQ(names(placementCandidates(fleet, "dvd", "x86_64", "f40")),
              (std::vector<std::string>{"c", "d", "b", "a"}));
}

TEST(ForwarderPlacement, DownHostsAreNeverChosen) {
    std::vector<HostInfo> fleet{host("a", {"x86_64"}, {"f40"}, 0, 0, 2, false),
                                host("b", {"x86_64"}, {"f40"}, 5, 5, 1)};
    EXPECT_EQ(names(placementCandidates(fleet, "boot", "x86_64", "f40")),
              std::vector<std::string>{"b"});
    fleet[1].healthy = false;
    EXPECT_TRUE(placementCandidates(fleet, "boot", "x86_64", "f40").empty());
    EXPECT_TRUE(serves(fleet[0], "boot", "x86_64", "f40"));
}

TEST(ForwarderPlacement, FleetOfferListsWhatEachHostBuilds) {
    std::vector<HostInfo> fleet{host("a", {"x86_64"}, {"f40"}, 0, 0, 2),
                                host("b", {"aarch64"}, {"f41"}, 0, 0, 2, false)};
    auto offer = fleetOffer(fleet);
    ASSERT_EQ(offer.size(), 2u);
    EXPECT_EQ(offer[0]["hostname"], "a");
    EXPECT_EQ(offer[1]["arches"], nlohmann::json::array({"aarch64"}));
    EXPECT_EQ(offer[1]["healthy"], false);
}

TEST(ForwarderPlacement, NoReleasesMeansAnyRelease) {
    std::vector<HostInfo> fleet{host("any", {"x86_64"}, {}, 1, 0, 2),
                                host("f40", {"x86_64"}, {"f40"}, 0, 0, 2)};
    EXPECT_TRUE(serves(fleet[0], "boot", "x86_64", "rawhide"));
    EXPECT_EQ(names(placementCandidates(fleet, "boot", "x86_64", "rawhide")),
              std::vector<std::string>{"any"});
    // Least loaded first still: "f40" is idle.
    EXPECT_EQ(names(placementCandidates(fleet, "boot", "x86_64", "f40")),
              (std::vector<std::string>{"f40", "any"}));
    // Arches and image types are still required.
    EXPECT_TRUE(placementCandidates(fleet, "boot", "aarch64", "rawhide").empty());
    EXPECT_TRUE(placementCandidates(fleet, "live", "x86_64", "rawhide").empty());
}

TEST(ForwarderPlacement, FleetOfferSaysWhetherAHostIsDownOrNotYetKnown) {
    auto down = host("a", {"x86_64"}, {"f40"}, 0, 0, 2, false);
    down.status = "down";
    auto unknown = host("b", {"x86_64"}, {"f40"}, 0, 0, 2, false);
    unknown.status = "unknown";
    auto offer = fleetOffer({down, unknown});
    EXPECT_EQ(offer[0]["status"], "down");
    EXPECT_EQ(offer[1]["status"], "unknown");
}
