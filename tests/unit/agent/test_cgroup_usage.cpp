// Reading what a unit used from its cgroup's files: the figures a host has,
// and nothing (never 0) for those it does not.
#include "agent/cgroup_usage.hpp"

#include <gtest/gtest.h>

#include "common/atomic_file.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild;
using namespace imagebuild::agent;

TEST(CgroupUsage, CpuStatAndIoStat) {
    EXPECT_EQ(cpuUsecOfCpuStat("usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n"), 1234u);
    EXPECT_FALSE(cpuUsecOfCpuStat("user_usec 1\n"));
    auto [read, write] = bytesOfIoStat(
        "8:0 rbytes=100 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"
        "8:16 rbytes=5 wbytes=7 rios=1 wios=1 dbytes=0 dios=0\n");
    EXPECT_EQ(read, 105u);
    EXPECT_EQ(write, 27u);
}

TEST(CgroupUsage, UnifiedCgroupOfThisProcess) {
    EXPECT_EQ(unifiedCgroupOf("0::/imagebuild.slice/imagebuild-h-1.service\n"),
              "/imagebuild.slice/imagebuild-h-1.service");
    EXPECT_EQ(
        unifiedCgroupOf("12:memory:/x\n0::/imagebuild.slice/imagebuild-h-1.service/.control\n"),
        "/imagebuild.slice/imagebuild-h-1.service");
    EXPECT_EQ(unifiedCgroupOf("4:memory:/x\n"), "");
}

TEST(CgroupUsage, OnlyCpuWhereOnlyCpuStatExists) {
    imagebuild::testing::TempTree tree;
    auto dir = tree.root() / "imagebuild.slice" / "u.service";
    std::filesystem::create_directories(dir);
    writeFileAtomic(dir / "cpu.stat", "usage_usec 777\nuser_usec 700\n");
    auto usage = readCgroupUsage(tree.root(), "/imagebuild.slice/u.service");
    EXPECT_EQ(usage.cpuUsec, 777u);
    EXPECT_FALSE(usage.memoryPeakBytes);
    EXPECT_FALSE(usage.ioReadBytes);
    EXPECT_FALSE(usage.ioWriteBytes);
    EXPECT_FALSE(usage.wallUsec);
}

TEST(CgroupUsage, EveryFigureWhereTheControllersExist) {
    imagebuild::testing::TempTree tree;
    // A hybrid host: the unified hierarchy under unified/.
    auto dir = tree.root() / "unified" / "s" / "u.service";
    std::filesystem::create_directories(dir);
    writeFileAtomic(dir / "cpu.stat", "usage_usec 9\n");
    writeFileAtomic(dir / "memory.peak", "4096\n");
    writeFileAtomic(dir / "io.stat", "");  // the io controller, and no IO
    auto usage = readCgroupUsage(tree.root(), "/s/u.service");
    EXPECT_EQ(usage.cpuUsec, 9u);
    EXPECT_EQ(usage.memoryPeakBytes, 4096u);
    EXPECT_EQ(usage.ioReadBytes, 0u);
    EXPECT_EQ(usage.ioWriteBytes, 0u);
}

TEST(CgroupUsage, NothingForAGoneCgroup) {
    imagebuild::testing::TempTree tree;
    EXPECT_EQ(readCgroupUsage(tree.root(), "/gone.service"), ResourceUsage{});
}
