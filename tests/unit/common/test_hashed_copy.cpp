#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/hashed_copy.hpp"
#include "common/sha256.hpp"
#include "tests/unit/temp_tree.hpp"

namespace fs = std::filesystem;
using namespace imagebuild;

namespace {

class HashedCopy : public ::testing::Test {
protected:
    fs::path write(const std::string& name, const std::string& content) {
        tree_.write(name, content);
        return dir_ / name;
    }
    imagebuild::testing::TempTree tree_;
    const fs::path& dir_ = tree_.root();
};

}  // namespace

TEST_F(HashedCopy, CopiesAndHashesInOnePass) {
    // Larger than the copy buffer, so several chunks are hashed in order.
    std::string content(3 * (1 << 20) + 17, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) {
        content[i] = static_cast<char>(i * 7919 % 251);
    }
    auto source = write("image.iso", content);
    auto digest = copyFileHashing(source, dir_ / "copy.iso");
    EXPECT_EQ(digest.size, content.size());
    EXPECT_EQ(digest.sha256, sha256Hex(content));
    std::ifstream copy(dir_ / "copy.iso", std::ios::binary);
    std::string copied((std::istreambuf_iterator<char>(copy)), {});
    EXPECT_EQ(copied, content);
    EXPECT_EQ(hashFile(source).sha256, digest.sha256);
}

TEST_F(HashedCopy, KnownDigestOfEmptyAndAbc) {
    EXPECT_EQ(hashFile(write("empty", "")).sha256,
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hashFile(write("abc", "abc")).sha256,
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(HashedCopy, MissingSourceThrowsNamingItAndLeavesNothing) {
    try {
        copyFileHashing(dir_ / "absent.iso", dir_ / "copy.iso");
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("absent.iso"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir_ / "copy.iso"));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);
}

TEST_F(HashedCopy, AFailedCopyKeepsTheOldDestinationWhole) {
    write("copy.iso", "old content");
    fs::create_directory(dir_ / "a-directory");
    // Reading a directory fails after the temporary file exists.
    EXPECT_THROW(copyFileHashing(dir_ / "a-directory", dir_ / "copy.iso"), std::system_error);
    std::ifstream copy(dir_ / "copy.iso");
    std::string kept((std::istreambuf_iterator<char>(copy)), {});
    EXPECT_EQ(kept, "old content");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
}

TEST_F(HashedCopy, Sha256SumsIsWhatSha256sumChecks) {
    auto a = write("a.iso", "first");
    auto b = write("b img.iso", "second");
    std::vector<Artifact> artifacts{{"a.iso", a.string(), 5, hashFile(a).sha256},
                                    {"b img.iso", b.string(), 6, hashFile(b).sha256}};
    auto sums = formatSha256Sums(artifacts);
    EXPECT_EQ(sums.substr(64, 8), "  a.iso\n");
    EXPECT_EQ(sums.substr(72 + 64), "  b img.iso\n");
    write("SHA256SUMS", sums);
    std::string command = "cd '" + dir_.string() + "' && sha256sum --quiet -c SHA256SUMS";
    EXPECT_EQ(std::system(command.c_str()), 0);
    // And it does fail when a file changes.
    write("a.iso", "tampered");
    EXPECT_NE(std::system((command + " 2>/dev/null").c_str()), 0);
}

TEST(ArtifactName, RejectsPathsAndControlCharacters) {
    EXPECT_TRUE(isSafeArtifactName("boot.iso"));
    EXPECT_TRUE(isSafeArtifactName("Fedora-Live 39.iso"));
    for (const char* bad : {"", ".", "..", "a/b", "../x", "a\nb", "a\\b"}) {
        EXPECT_FALSE(isSafeArtifactName(bad)) << bad;
    }
    EXPECT_FALSE(isSafeArtifactName(std::string(256, 'a')));
}
