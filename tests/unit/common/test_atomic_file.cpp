#include "common/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/imagebuild-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(AtomicFile, WritesReplacesAndLeavesNoTemporaries) {
    auto path = dir_ / "state";
    imagebuild::writeFileAtomic(path, "one");
    imagebuild::writeFileAtomic(path, "two", 0600);
    EXPECT_EQ(imagebuild::readFile(path), "two");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(AtomicFile, FailureLeavesTargetUntouched) {
    auto path = dir_ / "state";
    imagebuild::writeFileAtomic(path, "kept");
    // The target's directory is gone: nothing can be written.
    EXPECT_THROW(imagebuild::writeFileAtomic(dir_ / "missing" / "x", "new"), std::system_error);
    EXPECT_EQ(imagebuild::readFile(path), "kept");
}

TEST_F(AtomicFile, MissingFileReadsAsNullopt) {
    EXPECT_FALSE(imagebuild::readFile(dir_ / "nothing").has_value());
}
