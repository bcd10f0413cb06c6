#include "agent/disk_space.hpp"

#include <gtest/gtest.h>

#include <cerrno>

using namespace imagebuild::agent;

TEST(DiskSpace, SizesReadAsDfSaysThem) {
    EXPECT_EQ(formatSize(0), "0 B");
    EXPECT_EQ(formatSize(1023), "1023 B");
    EXPECT_EQ(formatSize(1024), "1.0K");
    EXPECT_EQ(formatSize(1536 * 1024), "1.5M");
    EXPECT_EQ(formatSize(std::uint64_t{2} << 30), "2.0G");
    EXPECT_EQ(formatSize(std::uint64_t{812} << 10), "812K");
    EXPECT_EQ(formatSize(std::uint64_t{3} << 40), "3.0T");
}

TEST(DiskSpace, NamesTheMountPointOfAPath) {
    // /proc is its own filesystem on every Linux host; /proc/self/fd is on it.
    auto proc = diskSpaceOf("/proc/self/fd");
    ASSERT_TRUE(proc.has_value());
    EXPECT_EQ(proc->mountPoint, "/proc");
    auto root = diskSpaceOf("/");
    ASSERT_TRUE(root.has_value());
    EXPECT_EQ(root->mountPoint, "/");
    EXPECT_NE(root->device, proc->device);
    EXPECT_FALSE(diskSpaceOf("/no/such/path/here").has_value());
}

TEST(DiskSpace, FullDiskErrorsAreRecognised) {
    EXPECT_TRUE(isNoSpace(std::make_error_code(std::errc::no_space_on_device)));
    EXPECT_TRUE(isNoSpace(std::error_code(EDQUOT, std::generic_category())));
    EXPECT_TRUE(isNoSpace(std::error_code(ENOSPC, std::system_category())));
    EXPECT_FALSE(isNoSpace(std::make_error_code(std::errc::permission_denied)));
}
