// The checks a new build passes before its caller is asked about, without a
// bus: a lifecycle over a fake UnitRunner (fake_units.hpp) and a real
// StateStore in a temporary directory. What each refusal is, and that what
// the spec asks is refused before the room for it is looked at.
#include "agent/build_admission.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/build_registry.hpp"
#include "tests/unit/agent/fake_units.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild;
using namespace imagebuild::agent;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

// One build runs, one more may wait: two submitted builds fill the host.
constexpr const char* kConfig = R"([host]
arches = x86_64
releases = 40
max_parallel = 1
queue_max = 1
min_free = 0
[repositories]
max_upload = 1000
[type.short]
command = sh -c "exit 0"
)";

class AdmissionTest : public ::testing::Test {
protected:
    AdmissionTest()
        : store_(tree_.root()),
          registry_(store_),
          lifecycle_(
              LifecycleOptions{parseConfig(kConfig, "test.conf"), "h",
                               HelperPaths{"/usr/libexec/rec", "/usr/libexec/hook", "", false}},
              registry_, units_),
          admission_(lifecycle_) {}

    static BuildSpec spec() {
        BuildSpec s;
        s.type = "short";
        s.arch = "x86_64";
        s.release = "40";
        s.kickstart = "lang en_US\n";
        return s;
    }

    sdbus::UnixFd file(const std::string& name, const std::string& content) {
        auto path = tree_.root() / "client" / name;
        fs::create_directories(path.parent_path());
        std::ofstream(path) << content;
        return sdbus::UnixFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC), sdbus::adopt_fd);
    }

    std::string submit(std::uint32_t uid = 1000) { return lifecycle_.submit(spec(), uid).id; }

    // The kind of LifecycleError f throws; fails the test if it throws none.
    template <typename F>
    LifecycleError::Kind refusal(F f) {
        try {
            f();
        } catch (const LifecycleError& e) {
            return e.kind();
        }
        ADD_FAILURE() << "no LifecycleError";
        return LifecycleError::Kind::kInternal;
    }

    imagebuild::testing::TempTree tree_;
    StateStore store_;
    BuildRegistry registry_;
    imagebuild::testing::FakeUnits units_;
    BuildLifecycle lifecycle_;
    BuildAdmission admission_;
};

}  // namespace

TEST_F(AdmissionTest, TheHostBuildsItsConfiguredTypesArchesAndReleases) {
    EXPECT_EQ(admission_.capabilities().types, std::vector<std::string>{"short"});
    EXPECT_EQ(admission_.capabilities().arches, std::vector<std::string>{"x86_64"});
    EXPECT_EQ(admission_.capabilities().releases, std::vector<std::string>{"40"});
}

TEST_F(AdmissionTest, ASpecTheHostBuildsIsAcceptedWhileThereIsRoom) {
    EXPECT_NO_THROW(admission_.check(spec()));
    submit();
    EXPECT_NO_THROW(admission_.check(spec()));
    submit();
    EXPECT_EQ(refusal([&] { admission_.check(spec()); }), LifecycleError::Kind::kQueueFull);
}

TEST_F(AdmissionTest, WhatTheHostDoesNotBuildIsUnsupportedByName) {
    auto other = spec();
    other.arch = "aarch64";
    try {
        admission_.check(other);
        FAIL() << "no error";
    } catch (const UnsupportedError& e) {
        EXPECT_THAT(e.what(), HasSubstr("this host does not build arch 'aarch64'"));
    }
    other = spec();
    other.type = "gone";
    EXPECT_THROW(admission_.check(other), UnsupportedError);
}

TEST_F(AdmissionTest, UploadsOverTheLimitAreRefusedBeforeAnythingIsRead) {
    auto big = spec();
    big.rpms.emplace("a.rpm", file("a", std::string(600, 'x')));
    big.rpms.emplace("b.rpm", file("b", std::string(500, 'x')));
    try {
        admission_.check(big);
        FAIL() << "no error";
    } catch (const UploadTooLargeError& e) {
        EXPECT_THAT(e.what(), HasSubstr("at most 1000 bytes"));
    }
    EXPECT_FALSE(fs::exists(lifecycle_.uploadsDir()));
}

TEST_F(AdmissionTest, WhatTheSpecAsksIsRefusedBeforeTheRoomForIt) {
    submit();
    submit();
    auto other = spec();
    other.arch = "aarch64";
    EXPECT_THROW(admission_.check(other), UnsupportedError);
    auto big = spec();
    big.rpms.emplace("a.rpm", file("a", std::string(2000, 'x')));
    EXPECT_THROW(admission_.check(big), UploadTooLargeError);
    EXPECT_EQ(refusal([&] { admission_.check(spec()); }), LifecycleError::Kind::kQueueFull);
}

TEST_F(AdmissionTest, ARetryIsTheOldSpecWithItsKickstartAndOwner) {
    auto id = submit(1000);
    auto retry = admission_.checkRetry(id, 1001, std::nullopt);
    EXPECT_EQ(retry.ownerUid, 1000u);
    EXPECT_EQ(retry.spec.type, "short");
    EXPECT_THAT(retry.spec.kickstart, HasSubstr("lang en_US\n"));
    // Another's retry is in the caller's name, unless one is named.
    EXPECT_FALSE(retry.spec.submitter);
    EXPECT_EQ(admission_.checkRetry(id, 1001, "bob").spec.submitter, "bob");
}

TEST_F(AdmissionTest, ARetryOfAnUnknownBuildIsNotFoundAndOfAnyWhenFullQueueFull) {
    EXPECT_EQ(refusal([&] { admission_.checkRetry("h-99", 1000, std::nullopt); }),
              LifecycleError::Kind::kNotFound);
    auto id = submit();
    submit();
    EXPECT_EQ(refusal([&] { admission_.checkRetry(id, 1000, std::nullopt); }),
              LifecycleError::Kind::kQueueFull);
}

TEST_F(AdmissionTest, NoUploadsNoSideRepository) {
    EXPECT_FALSE(admission_.sideRepoOf(spec()));
}

TEST_F(AdmissionTest, ASideRepositoryOfAFileThatIsNoRpmIsRefusedByNameAndLeavesNothing) {
    auto withRpm = spec();
    withRpm.rpms.emplace("notes.rpm", file("notes", "not a package\n"));
    try {
        admission_.sideRepoOf(withRpm);
        FAIL() << "no error";
    } catch (const PackageError& e) {
        EXPECT_THAT(e.what(), HasSubstr("notes.rpm is not an RPM package"));
    }
    auto uploads = lifecycle_.uploadsDir();
    EXPECT_TRUE(!fs::exists(uploads) || fs::is_empty(uploads));
}

TEST(RetryOptions, OnlyASubmitterNamedAsSubmitsIsTaken) {
    EXPECT_FALSE(retrySubmitterOf({}));
    EXPECT_EQ(retrySubmitterOf({{"submitter", sdbus::Variant(std::string("alice"))}}), "alice");
    auto refusal = [](std::map<std::string, sdbus::Variant> options) {
        try {
            retrySubmitterOf(options);
        } catch (const SpecError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(refusal({{"priority", sdbus::Variant(std::int32_t{5})}}),
              "unknown Retry option 'priority'; the only option is 'submitter'");
    EXPECT_EQ(refusal({{"submitter", sdbus::Variant(std::uint32_t{5})}}),
              "Retry option 'submitter' must be a string (s)");
    EXPECT_THAT(refusal({{"submitter", sdbus::Variant(std::string())}}),
                HasSubstr("Retry option 'submitter' is empty"));
}
