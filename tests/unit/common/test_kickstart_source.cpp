// Bundle mode: includes resolve inside the bundle root only.
#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/kickstart_flatten.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild::kickstart;
using imagebuild::testing::KickstartTree;

namespace {

std::string error(const KickstartTree& dir, const std::string& root = "main.ks") {
    BundleSource bundle(dir.root());
    try {
        flatten(bundle, root);
    } catch (const KickstartError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(KickstartBundle, FlattensInsideTheRoot) {
    KickstartTree dir;
    dir.write("main.ks", "%include parts/a.ks\n");
    dir.write("parts/a.ks", "%include b.ks\n");
    dir.write("parts/b.ks", "lang C\n");
    BundleSource bundle(dir.root());
    auto result = flatten(bundle, "main.ks");
    EXPECT_EQ(result.text, "lang C\n");
    EXPECT_EQ(result.files[2].path, "parts/b.ks");
}

TEST(KickstartBundle, AbsolutePathsAreRejected) {
    KickstartTree dir;
    dir.write("main.ks", "%include /etc/hostname\n");
    EXPECT_EQ(error(dir),
              "main.ks:1: %include /etc/hostname: absolute paths are not allowed in a bundle; use "
              "a path relative to the bundle root or to the including file");
}

TEST(KickstartBundle, DotDotEscapesAreRejected) {
    KickstartTree dir;
    dir.write("main.ks", "lang C\n%include ../outside.ks\n");
    EXPECT_EQ(error(dir),
              "main.ks:2: %include ../outside.ks: '../outside.ks' leads outside the "
              "bundle root");
    // '..' that stays inside is fine.
    dir.write("main.ks", "%include sub/../a.ks\n");
    dir.write("a.ks", "x\n");
    EXPECT_EQ(error(dir), "(no error)");
}

TEST(KickstartBundle, SymlinksLeadingOutsideAreRejected) {
    KickstartTree dir;
    dir.write("main.ks", "%include link.ks\n");
    std::filesystem::create_symlink("/etc/hostname", dir.path("link.ks"));
    EXPECT_EQ(error(dir),
              "main.ks:1: %include link.ks: 'link.ks': symlink 'link.ks' -> "
              "'/etc/hostname' leads outside the bundle root");
    dir.write("main.ks", "%include up/x.ks\n");
    std::filesystem::create_directory(dir.path("sub"));
    std::filesystem::create_directory_symlink("../..", dir.path("sub/up2"));
    std::filesystem::create_directory_symlink("sub/up2", dir.path("up"));
    EXPECT_EQ(error(dir), "main.ks:1: %include up/x.ks: 'up/x.ks' leads outside the bundle root");
}

TEST(KickstartBundle, SymlinksInsideAreFollowed) {
    KickstartTree dir;
    dir.write("main.ks", "%include current/a.ks\n");
    dir.write("v2/a.ks", "lang C\n");
    std::filesystem::create_directory_symlink("v2", dir.path("current"));
    EXPECT_EQ(error(dir), "(no error)");
}

TEST(KickstartBundle, SpecialFilesAreRefusedWithoutOpeningThem) {
    KickstartTree dir;
    dir.write("main.ks", "%include fifo\n");
    ASSERT_EQ(::mkfifo(dir.path("fifo").c_str(), 0600), 0);
    EXPECT_EQ(error(dir), "main.ks:1: %include fifo: 'fifo' is not a regular file");
}

TEST(KickstartBundle, RootFileMustBeInside) {
    KickstartTree dir;
    EXPECT_EQ(error(dir, "../x.ks"),
              "../x.ks: the root kickstart must be a file inside the bundle root");
    EXPECT_EQ(error(dir, "main.ks"), "main.ks: 'main.ks': no such file");
}

TEST(KickstartBundle, KsappendIsConfinedToo) {
    KickstartTree dir;
    dir.write("main.ks", "%ksappend /etc/hostname\n");
    EXPECT_EQ(error(dir),
              "main.ks:1: %ksappend /etc/hostname: absolute paths are not allowed in a bundle");
    dir.write("main.ks", "%ksappend ../x\n");
    EXPECT_EQ(error(dir), "main.ks:1: %ksappend ../x: '../x' leads outside the bundle root");
    dir.write("main.ks", "%ksappend http://h/x\n");
    EXPECT_EQ(error(dir),
              "main.ks:1: %ksappend http://h/x: URL locations are not allowed in a bundle");
}

TEST(KickstartBundle, MissingRootDirectory) {
    EXPECT_THROW(BundleSource("/nonexistent/bundle"), SourceError);
}
