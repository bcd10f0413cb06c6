// Kickstart uploads over HTTP: tars read into memory (bad entries refused by
// name), the top file chosen.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "forwarder/config.hpp"
#include "forwarder/kickstart_upload.hpp"
#include "tests/unit/forwarder/upload_testing.hpp"

using namespace imagebuild::forwarder;
using json = nlohmann::json;

using namespace imagebuild::testing;

TEST(KickstartUpload, TarDetectionIsByContent) {
    EXPECT_TRUE(looksLikeTar(makeTar({{"ks.cfg", "x\n"}})));
    EXPECT_TRUE(looksLikeTar(makeTar({{"ks.cfg", "x\n"}}, true)));
    EXPECT_FALSE(looksLikeTar("lang en_US\n"));
    EXPECT_FALSE(looksLikeTar(""));
}

TEST(KickstartUpload, TreeWithIncludeIsFlattened) {
    for (bool gzip : {false, true}) {
        auto tar =
            makeTar({{"./", "", AE_IFDIR}, {"./ks.cfg", kBase}, {"parts/repo.ks", kRepo}}, gzip);
        auto text = flattenUploadedKickstart(tar, "tree.tgz", "", {});
        EXPECT_EQ(text, "lang en_US.UTF-8\n" + kRepo) << gzip;
    }
}

TEST(KickstartUpload, BadEntriesAreRefusedByName) {
    auto read = [](const std::vector<Entry>& entries) {
        return [entries] {
            readTarTree(makeTar(entries), 1 << 20);
        };
    };
    expectUploadError(read({{"ks.cfg", "x"}, {"../evil.ks", "x"}}), 400, "InvalidUpload",
                      "'../evil.ks' contains '..'");
    expectUploadError(read({{"a/../../b.ks", "x"}}), 400, "InvalidUpload", "'a/../../b.ks'");
    expectUploadError(read({{"/etc/ks.cfg", "x"}}), 400, "InvalidUpload",
                      "'/etc/ks.cfg' is an absolute path");
    expectUploadError(read({{"ks.cfg", "x"}, {"repo.ks", "", AE_IFLNK, "/etc/shadow"}}), 400,
                      "InvalidUpload", "'repo.ks' is a symbolic link to '/etc/shadow'");
    expectUploadError(read({{"ks.cfg", "x"}, {"copy.ks", "", AE_IFREG, "ks.cfg", true}}), 400,
                      "InvalidUpload", "'copy.ks' is a hard link");
    expectUploadError(read({{"null", "", AE_IFCHR}}), 400, "InvalidUpload", "'null' is a device");
    expectUploadError(read({{"fifo", "", AE_IFIFO}}), 400, "InvalidUpload", "'fifo' is a FIFO");
    expectUploadError(read({{"ks.cfg", "x"}, {"./ks.cfg", "y"}}), 400, "InvalidUpload",
                      "appears twice");
    expectUploadError(read({{"d/", "", AE_IFDIR}}), 400, "InvalidUpload", "holds no file");
}

TEST(KickstartUpload, OversizeTreeIs413) {
    auto tar = makeTar({{"ks.cfg", std::string(3000, '#')}, {"b.ks", std::string(3000, '#')}});
    expectUploadError([&] { readTarTree(tar, 5000); }, 413, "PayloadTooLarge", "max_upload_bytes");
    EXPECT_NO_THROW(readTarTree(tar, 6000));
}

TEST(KickstartUpload, TooManyEntriesIs413NamingTheLimit) {
    std::vector<Entry> entries;
    for (int i = 0; i < 11; ++i) {
        entries.push_back({"e" + std::to_string(i) + ".ks", ""});
    }
    auto tar = makeTar(entries);
    expectUploadError([&] { readTarTree(tar, 1 << 20, 10); }, 413, "PayloadTooLarge",
                      "more than 10 entries (max_upload_entries)");
    EXPECT_NO_THROW(readTarTree(tar, 1 << 20, 11));
    // Directories count too: they cost as much to keep as empty files.
    entries.erase(entries.begin() + 1, entries.end());
    for (int i = 0; i < 10; ++i) {
        entries.push_back({"d" + std::to_string(i) + "/", "", AE_IFDIR});
    }
    expectUploadError([&] { readTarTree(makeTar(entries), 1 << 20, 10); }, 413, "PayloadTooLarge",
                      "max_upload_entries");
}

TEST(KickstartUpload, DamagedArchivesAreRefused) {
    auto tar = makeTar({{"ks.cfg", std::string(5000, '#')}});
    expectUploadError([&] { readTarTree(tar.substr(0, 1500), 1 << 20); }, 400, "InvalidUpload",
                      "kickstart_file");
    std::string gzipNotTar = "\x1f\x8b garbage";
    expectUploadError([&] { readTarTree(gzipNotTar, 1 << 20); }, 400, "InvalidUpload",
                      "kickstart_file");
}

TEST(KickstartUpload, MainFileChoice) {
    EXPECT_EQ(chooseMainFile({"a.ks", "ks.cfg"}, ""), "ks.cfg");
    EXPECT_EQ(chooseMainFile({"parts/x.ks", "live.ks"}, ""), "live.ks");
    EXPECT_EQ(chooseMainFile({"a.ks", "b.ks"}, "./b.ks"), "b.ks");
    expectUploadError(
        [] {
            chooseMainFile({"a.ks", "b.cfg"}, "");
        },
        400, "InvalidSpec", "kickstart_main is required");
    expectUploadError([] { chooseMainFile({"parts/a.ks"}, ""); }, 400, "InvalidSpec",
                      "kickstart_main is required");
    expectUploadError([] { chooseMainFile({"a.ks"}, "b.ks"); }, 400, "InvalidSpec",
                      "kickstart_main: 'b.ks'");
}

TEST(KickstartUpload, KickstartErrorsNameFileAndLine) {
    auto tar = makeTar({{"ks.cfg", "lang C\n%include missing.ks\n"}});
    expectUploadError([&] { flattenUploadedKickstart(tar, "t.tar", "", {}); }, 400,
                      kInvalidKickstart, "ks.cfg:2:");
    // Pasted text is a tree of one file: an include cannot be satisfied.
    expectUploadError([] { flattenPastedKickstart("lang C\n%include other.ks\n", {}); }, 400,
                      kInvalidKickstart, "kickstart:2:");
    EXPECT_EQ(flattenPastedKickstart("lang C\n", {}), "lang C\n");
    // One uploaded file keeps its name in messages.
    expectUploadError([] { flattenUploadedKickstart("%include x.ks\n", "dir/my.ks", "", {}); }, 400,
                      kInvalidKickstart, "my.ks:1:");
}
