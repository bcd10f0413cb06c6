#include <gtest/gtest.h>

#include "common/host_info.hpp"

using imagebuild::HostInfo;

// The one reading of the agent's properties, for imagebuildctl and the forwarder.
TEST(HostInfo, FromDbusPropertiesTakesKnownKeys) {
    std::map<std::string, sdbus::Variant> props{
        {"Hostname", sdbus::Variant(std::string("build-b"))},
        {"Arches", sdbus::Variant(std::vector<std::string>{"x86_64", "aarch64"})},
        {"ImageTypes", sdbus::Variant(std::vector<std::string>{"boot"})},
        {"Running", sdbus::Variant(std::uint32_t{2})},
        {"Queued", sdbus::Variant(std::uint32_t{5})},
        {"MaxParallel", sdbus::Variant(std::uint32_t{4})},
        {"QueueMax", sdbus::Variant(std::uint32_t{100})},  // not a HostInfo field
        {"Releases", sdbus::Variant(std::string("wrong type: ignored"))},
    };
    auto host = imagebuild::hostInfoFromProperties(props);
    EXPECT_EQ(host.hostname, "build-b");
    EXPECT_EQ(host.arches, (std::vector<std::string>{"x86_64", "aarch64"}));
    EXPECT_TRUE(host.releases.empty());
    EXPECT_EQ(host.imageTypes, std::vector<std::string>{"boot"});
    EXPECT_EQ(host.running, 2u);
    EXPECT_EQ(host.queued, 5u);
    EXPECT_EQ(host.maxParallel, 4u);
    // What only the caller knows stays unknown.
    EXPECT_EQ(host.status, "unknown");
    EXPECT_FALSE(host.healthy);
    EXPECT_TRUE(host.url.empty());
}
