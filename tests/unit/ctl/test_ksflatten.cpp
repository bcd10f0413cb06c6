// imagebuildctl ksflatten: exit codes, --check, --json, --lint, -o.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/exit_codes.hpp"
#include "common/sha256.hpp"
#include "ctl/ksflatten.hpp"
#include "tests/unit/temp_tree.hpp"

using imagebuild::ctl::KsflattenOptions;
using imagebuild::ctl::runKsflatten;
using imagebuild::testing::KickstartTree;
namespace ctl = imagebuild::ctl;

namespace {

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run run(const KsflattenOptions& options) {
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int code = runKsflatten(options);
    std::string out = ::testing::internal::GetCapturedStdout();
    return Run{code, out, ::testing::internal::GetCapturedStderr()};
}

class KsflattenCli : public ::testing::Test {
protected:
    void SetUp() override {
        dir.write("main.ks", "lang C\n%include part.ks\n%packages\n@core\n%end\n");
        dir.write("part.ks", "keyboard us\n");
        dir.enter();
    }
    KickstartTree dir;
};

}  // namespace

TEST_F(KsflattenCli, PrintsTheFlattenedKickstart) {
    KsflattenOptions options;
    options.file = "main.ks";
    auto r = run(options);
    EXPECT_EQ(r.code, imagebuild::kExitOk);
    EXPECT_EQ(r.out, "lang C\nkeyboard us\n%packages\n@core\n%end\n");
    EXPECT_EQ(r.err, "");
}

TEST_F(KsflattenCli, CheckPrintsNothingAndFailsOnErrors) {
    KsflattenOptions options;
    options.file = "main.ks";
    options.check = true;
    auto ok = run(options);
    EXPECT_EQ(ok.code, imagebuild::kExitOk);
    EXPECT_EQ(ok.out, "");
    dir.write("part.ks", "%include missing.ks\n");
    auto bad = run(options);
    EXPECT_EQ(bad.code, imagebuild::kExitFailure);
    EXPECT_EQ(bad.out, "");
    EXPECT_EQ(bad.err,
              "ksflatten: part.ks:1: %include missing.ks: no such file (looked for 'missing.ks' "
              "and './missing.ks')\n");
}

TEST_F(KsflattenCli, ExitCodesForUsageAndMissingFile) {
    KsflattenOptions options;
    EXPECT_EQ(run(options).code, imagebuild::kExitUsage);
    options.file = "nothere.ks";
    auto missing = run(options);
    EXPECT_EQ(missing.code, imagebuild::kExitNotFound);
    EXPECT_EQ(missing.err, "ksflatten: nothere.ks: no such file\n");
    options.file = "main.ks";
    options.root = "no-such-dir";
    EXPECT_EQ(run(options).code, imagebuild::kExitNotFound);
    std::filesystem::create_directory(dir.path("bundle"));
    options.root = "bundle";
    auto outside = run(options);
    EXPECT_EQ(outside.code, imagebuild::kExitUsage);
    EXPECT_EQ(outside.err, "ksflatten: main.ks is not inside the bundle root bundle\n");
}

TEST_F(KsflattenCli, JsonListsFilesWithSha256) {
    KsflattenOptions options;
    options.file = "main.ks";
    options.json = true;
    auto r = run(options);
    ASSERT_EQ(r.code, imagebuild::kExitOk);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["root"], "main.ks");
    ASSERT_EQ(j["files"].size(), 2u);
    EXPECT_EQ(j["files"][1]["path"], "part.ks");
    EXPECT_EQ(j["files"][1]["sha256"], imagebuild::sha256Hex("keyboard us\n"));
    EXPECT_EQ(j["files"][1]["size"], 12);
    EXPECT_EQ(j["sha256"], imagebuild::sha256Hex("lang C\nkeyboard us\n%packages\n@core\n%end\n"));
    EXPECT_FALSE(j.contains("warnings"));
}

TEST_F(KsflattenCli, OutputIsWrittenAtomically) {
    dir.write("out.ks", "old\n");
    KsflattenOptions options;
    options.file = "main.ks";
    options.output = "out.ks";
    auto r = run(options);
    EXPECT_EQ(r.code, imagebuild::kExitOk);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(dir.read("out.ks"), "lang C\nkeyboard us\n%packages\n@core\n%end\n");
    // A failed flatten leaves the old output alone, and no temporary file.
    dir.write("part.ks", "\xFF");
    EXPECT_EQ(run(options).code, imagebuild::kExitFailure);
    EXPECT_EQ(dir.read("out.ks"), "lang C\nkeyboard us\n%packages\n@core\n%end\n");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.root())) {
        ++entries;
    }
    EXPECT_EQ(entries, 3u);  // main.ks, part.ks, out.ks
    options.output = "no-such-dir/out.ks";
    dir.write("part.ks", "keyboard us\n");
    auto unwritable = run(options);
    EXPECT_EQ(unwritable.code, imagebuild::kExitFailure);
    EXPECT_EQ(unwritable.err,
              "ksflatten: cannot create temporary file for no-such-dir/out.ks: No such file or "
              "directory\n");
}

TEST_F(KsflattenCli, LintWarnsWithOriginalFileAndLine) {
    dir.write("part.ks", "keyboard us\nlang de_DE\n");
    KsflattenOptions options;
    options.file = "main.ks";
    options.lint = true;
    options.check = true;
    auto r = run(options);
    EXPECT_EQ(r.code, imagebuild::kExitFailure);
    EXPECT_EQ(r.err,
              "part.ks:2: warning: 'lang' repeats the lang command of main.ks:1; pykickstart "
              "keeps only the last\n");
    options.json = true;
    auto j = nlohmann::json::parse(run(options).out);
    ASSERT_EQ(j["warnings"].size(), 1u);
    EXPECT_EQ(j["warnings"][0]["file"], "part.ks");
    EXPECT_EQ(j["warnings"][0]["line"], 2);
}

TEST_F(KsflattenCli, BundleRootConfinesIncludes) {
    dir.write("bundle/main.ks", "%include ../part.ks\n");
    KsflattenOptions options;
    options.file = "bundle/main.ks";
    options.root = "bundle";
    auto r = run(options);
    EXPECT_EQ(r.code, imagebuild::kExitFailure);
    EXPECT_EQ(r.err,
              "ksflatten: main.ks:1: %include ../part.ks: '../part.ks' leads outside the bundle "
              "root\n");
    dir.write("bundle/main.ks", "%include part.ks\n");
    dir.write("bundle/part.ks", "lang C\n");
    auto ok = run(options);
    EXPECT_EQ(ok.code, imagebuild::kExitOk);
    EXPECT_EQ(ok.out, "lang C\n");
}

TEST(KsflattenCommand, ParsesItsOptions) {
    CLI::App app;
    KsflattenOptions options;
    imagebuild::ctl::addKsflattenCommand(app, options);
    app.parse("ksflatten x.ks --lint --check --root dir -o out", false);
    EXPECT_EQ(options.file, "x.ks");
    EXPECT_EQ(options.output, "out");
    EXPECT_EQ(options.root, "dir");
    EXPECT_TRUE(options.check);
    EXPECT_TRUE(options.lint);
}
