#include "agent/side_repo.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace imagebuild;
using namespace imagebuild::agent;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

BuildSpec specFor(const std::string& release) {
    BuildSpec s;
    s.type = "oemdrv";
    s.arch = "x86_64";
    s.release = release;
    return s;
}

class SideRepoFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("side-repo-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    sdbus::UnixFd file(const std::string& name, const std::string& content) {
        auto path = dir_ / name;
        std::ofstream(path) << content;
        return sdbus::UnixFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC), sdbus::adopt_fd);
    }
    fs::path scratch() const { return dir_ / "uploads"; }
    bool scratchIsEmpty() const { return !fs::exists(scratch()) || fs::is_empty(scratch()); }

    fs::path dir_;
};

}  // namespace

TEST(SideRepo, AddsTheSideRepositoryFirstThenTheSpecsThenUpdates) {
    RepositoriesConfig config;
    auto spec = specFor("40");
    spec.repos = {{"extras", "https://example.org/extras/"}};
    spec.updates = true;
    spec.updatesTesting = true;
    auto repos = addedRepos(spec, config, "/var/lib/imagebuild/builds/h-1/repo");
    ASSERT_EQ(repos.size(), 4u);
    EXPECT_EQ(repos[0].name, "imagebuild-side");
    EXPECT_EQ(repos[0].baseurl, "file:///var/lib/imagebuild/builds/h-1/repo");
    EXPECT_EQ(repos[1].name, "extras");
    EXPECT_EQ(repos[2].name, "imagebuild-updates");
    EXPECT_EQ(repos[2].baseurl,
              "https://dl.fedoraproject.org/pub/fedora/linux/updates/40/Everything/x86_64/");
    EXPECT_EQ(repos[3].name, "imagebuild-updates-testing");
    EXPECT_TRUE(addedRepos(specFor("40"), config, "").empty());
}

TEST(SideRepo, AReleaseWithoutUpdatesIsUnsupportedByName) {
    RepositoriesConfig config;
    config.releases["rawhide"] = {};
    auto spec = specFor("rawhide");
    spec.updatesTesting = true;
    try {
        addedRepos(spec, config, "");
        FAIL() << "no error";
    } catch (const UnsupportedError& e) {
        EXPECT_THAT(e.what(), HasSubstr("release rawhide has no updates-testing repository"));
    }
}

TEST_F(SideRepoFiles, AFileWithoutAnRpmLeadIsRefusedByNameAndNothingIsLeft) {
    std::map<std::string, sdbus::UnixFd> rpms{{"notes.rpm", file("a", "not a package\n")}};
    try {
        SideRepo::fromUploads(rpms, "x86_64", 1 << 20, scratch());
        FAIL() << "no error";
    } catch (const PackageError& e) {
        EXPECT_THAT(e.what(), HasSubstr("notes.rpm is not an RPM package"));
    }
    EXPECT_TRUE(scratchIsEmpty());
}

TEST_F(SideRepoFiles, MoreThanTheLimitIsRefusedBeforeAnythingIsRead) {
    std::map<std::string, sdbus::UnixFd> rpms{{"a.rpm", file("a", std::string(600, 'x'))},
                                              {"b.rpm", file("b", std::string(500, 'x'))}};
    try {
        SideRepo::fromUploads(rpms, "x86_64", 1000, scratch());
        FAIL() << "no error";
    } catch (const UploadTooLargeError& e) {
        EXPECT_THAT(e.what(), HasSubstr("1100 bytes in all (largest: a.rpm, 600 bytes)"));
        EXPECT_THAT(e.what(), HasSubstr("at most 1000 bytes"));
    }
    EXPECT_FALSE(fs::exists(scratch()));
}

TEST_F(SideRepoFiles, APipeIsNotAnUpload) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[1]);
    std::map<std::string, sdbus::UnixFd> rpms{{"p.rpm", sdbus::UnixFd(fds[0], sdbus::adopt_fd)}};
    EXPECT_THROW(checkUploadSizes(rpms, 1000), PackageError);
}
