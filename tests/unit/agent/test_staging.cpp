#include "agent/staging.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/unit/temp_tree.hpp"

namespace fs = std::filesystem;
using namespace imagebuild;
using namespace imagebuild::agent;

namespace {

class Staging : public ::testing::Test {
protected:
    void SetUp() override {
        record_.id = "stagetest-" + std::to_string(::getpid()) + "-1";
        build_ = root_ / "builds" / record_.id;
        fs::create_directories(build_ / "out" / "images");
        write(build_ / "ks.cfg", "lang en_US.UTF-8\n%packages\n%end\n");
        record_.spec.type = "oemdrv";
        record_.state = record_.result = state::kSucceeded;
        record_.exitStatus = 0;
        options_.artifactPatterns = {"*.iso", "images/*.img"};
        options_.host = "stagetest";
    }
    static void write(const fs::path& path, const std::string& content) {
        std::ofstream(path, std::ios::binary) << content;
    }
    static std::string read(const fs::path& path) {
        std::ifstream in(path, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }
    std::vector<std::string> stagedNames(const StagingResult& result) const {
        std::vector<std::string> names;
        for (const auto& f : result.files) {
            names.push_back(f.name);
        }
        return names;
    }

    imagebuild::testing::TempTree tree_;
    const fs::path& root_ = tree_.root();
    BuildRecord record_;
    StagingOptions options_;
    fs::path build_;
};

}  // namespace

TEST_F(Staging, StagesImagesKickstartLogManifestAndChecksums) {
    write(build_ / "out" / "oemdrv.iso", "ISO 9660 bytes");
    write(build_ / "out" / "images" / "boot.img", "boot image");
    write(build_ / "out" / "scratch.tmp", "not an artifact");
    auto result = stageBuild(build_, record_, options_);

    EXPECT_TRUE(result.problems.empty()) << result.problems.front();
    EXPECT_EQ(stagedNames(result),
              (std::vector<std::string>{"boot.img", "oemdrv.iso", "ks.cfg", "build.log",
                                        "manifest.json", "SHA256SUMS"}));
    EXPECT_EQ(read(result.dir / "oemdrv.iso"), "ISO 9660 bytes");
    EXPECT_EQ(read(result.dir / "ks.cfg"), read(build_ / "ks.cfg"));
    EXPECT_FALSE(fs::exists(result.dir / "scratch.tmp"));

    auto manifest = nlohmann::json::parse(read(result.dir / "manifest.json"));
    EXPECT_EQ(manifest["id"], record_.id);
    EXPECT_EQ(manifest["result"], "succeeded");
    EXPECT_EQ(manifest["files"].size(), 4u);  // what was staged before the manifest
    EXPECT_EQ(manifest["files"][1]["name"], "oemdrv.iso");
    EXPECT_EQ(manifest["files"][1]["size"], 14);
    EXPECT_EQ(manifest["files"][1]["sha256"].get<std::string>().size(), 64u);

    std::string check = "cd '" + result.dir.string() + "' && sha256sum --quiet -c SHA256SUMS";
    EXPECT_EQ(std::system(check.c_str()), 0);
}

TEST_F(Staging, AFailedBuildStillStagesKickstartLogAndManifest) {
    record_.state = record_.result = state::kFailed;
    record_.exitStatus = 2;
    auto result = stageBuild(build_, record_, options_);
    EXPECT_TRUE(result.problems.empty());
    EXPECT_EQ(stagedNames(result),
              (std::vector<std::string>{"ks.cfg", "build.log", "manifest.json", "SHA256SUMS"}));
    auto manifest = nlohmann::json::parse(read(result.dir / "manifest.json"));
    EXPECT_EQ(manifest["result"], "failed");
    EXPECT_EQ(manifest["exit_status"], 2);
}

TEST_F(Staging, ProblemsNameTheFileAndNeverStopTheRest) {
    fs::remove(build_ / "ks.cfg");
    write(build_ / "out" / "a.iso", "a");
    write(build_ / "out" / "images" / "SHA256SUMS.img", "fine");
    fs::create_directories(build_ / "out" / "other");
    options_.artifactPatterns.push_back("other/*.iso");
    write(build_ / "out" / "other" / "a.iso", "same name as the first");
    auto result = stageBuild(build_, record_, options_);
    ASSERT_EQ(result.problems.size(), 2u);
    EXPECT_NE(result.problems[0].find("other/a.iso not staged"), std::string::npos)
        << result.problems[0];
    EXPECT_NE(result.problems[1].find("cannot stage ks.cfg"), std::string::npos)
        << result.problems[1];
    EXPECT_TRUE(fs::exists(result.dir / "manifest.json"));
    EXPECT_TRUE(fs::exists(result.dir / "SHA256SUMS"));
    auto manifest = nlohmann::json::parse(read(result.dir / "manifest.json"));
    EXPECT_EQ(manifest["problems"].size(), 2u);
}

TEST_F(Staging, ASucceededBuildWithoutImagesIsAProblem) {
    auto result = stageBuild(build_, record_, options_);
    ASSERT_EQ(result.problems.size(), 1u);
    EXPECT_NE(result.problems[0].find("produced no file"), std::string::npos);
}

TEST_F(Staging, CopiesEverythingToTheExtraDestination) {
    write(build_ / "out" / "oemdrv.iso", "ISO");
    options_.copyTo = root_ / "nfs";
    auto result = stageBuild(build_, record_, options_);
    EXPECT_TRUE(result.problems.empty());
    for (const auto& file : result.files) {
        EXPECT_EQ(read(options_.copyTo / record_.id / file.name), read(file.path)) << file.name;
    }
    // Only whole files: no temporary name is left behind.
    for (const auto& entry : fs::directory_iterator(options_.copyTo / record_.id)) {
        EXPECT_NE(entry.path().filename().string().front(), '.') << entry.path();
    }
}

TEST_F(Staging, UnreachableExtraDestinationIsAProblem) {
    write(root_ / "not-a-dir", "");
    options_.copyTo = root_ / "not-a-dir";
    write(build_ / "out" / "oemdrv.iso", "ISO");
    auto result = stageBuild(build_, record_, options_);
    ASSERT_EQ(result.problems.size(), 1u);
    EXPECT_NE(result.problems[0].find("not-a-dir"), std::string::npos) << result.problems[0];
}

TEST(ToolVersion, FirstLineOrEmpty) {
    EXPECT_NE(toolVersion("true").find("coreutils"), std::string::npos);
    EXPECT_EQ(toolVersion("imagebuild-no-such-tool"), "");
    // Debian's sh is dash, which has no version flag and exits 2 on both.
    EXPECT_EQ(toolVersion("sh"), "");
}

TEST_F(Staging, TheStagingRecordRoundTripsAndACorruptOneReadsAsNotStaged) {
    write(build_ / "out" / "oemdrv.iso", "ISO");
    EXPECT_FALSE(loadStagingResult(build_).has_value());
    auto result = stageBuild(build_, record_, options_);
    saveStagingResult(build_, result);
    auto loaded = loadStagingResult(build_);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->dir, result.dir);
    ASSERT_EQ(loaded->files.size(), result.files.size());
    EXPECT_EQ(loaded->files[0].sha256, result.files[0].sha256);
    write(build_ / "staging.json", "{ not json");
    EXPECT_FALSE(loadStagingResult(build_).has_value());
}
