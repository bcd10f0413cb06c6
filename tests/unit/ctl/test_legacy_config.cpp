#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ctl/ctl_error.hpp"
#include "ctl/legacy_config.hpp"
#include "ctl/side_repo_options.hpp"

using namespace imagebuild;
using namespace imagebuild::ctl;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// Runs the mapping and returns the error text it throws ("" if none).
std::string errorOf(const std::string& text) {
    try {
        mapLegacyConfig(text, "/srv/req/imagebuild.conf");
    } catch (const CtlError& e) {
        EXPECT_EQ(e.exitCode(), kExitUsage);
        return e.what();
    }
    return "";
}

const char* kLive = R"([DEFAULT]
type=live
arch=i686
staging=10.0.0.27
email=amit@example.org, qa@example.org
[live]
label=FedoraDesktop
title=Desktop
product=fedora
releasever=17
nvr=
bid=
tmpdir=/tmp/live_work
config=fedora-live-desktop.ks
)";

}  // namespace

TEST(CtlLegacyConfig, MapsALiveRequest) {
    auto mapped = mapLegacyConfig(kLive, "/srv/req/imagebuild.conf");
    const auto& r = mapped.spec;
    EXPECT_EQ(r.type, "live");
    EXPECT_EQ(r.arch, "i686");
    EXPECT_EQ(r.release, "17");
    EXPECT_EQ(r.name, "fedora");
    EXPECT_THAT(r.notify, ElementsAre("amit@example.org", "qa@example.org"));
    EXPECT_EQ(r.labels.at("label"), "FedoraDesktop");
    EXPECT_EQ(r.labels.at("title"), "Desktop");
    EXPECT_EQ(mapped.kickstartPath, "/srv/req/fedora-live-desktop.ks");
    EXPECT_TRUE(r.kickstart.empty());
}

TEST(CtlLegacyConfig, WarnsByNameForKeysItIgnores) {
    auto mapped = mapLegacyConfig(kLive, "/srv/req/imagebuild.conf");
    ASSERT_EQ(mapped.warnings.size(), 2u);
    EXPECT_THAT(mapped.warnings[0], HasSubstr("[DEFAULT] staging: ignored"));
    EXPECT_THAT(mapped.warnings[1], HasSubstr("[live] tmpdir: ignored"));
}

TEST(CtlLegacyConfig, BootRequestWithReleaseInDefaultAndSection) {
    auto mapped = mapLegacyConfig(R"([DEFAULT]
type=boot
arch=x86_64
release=17
[boot]
product=fedora
release=17
version=17
updates=0
updates-testing=0
17_url=
proxy=
config=/abs/boot.ks
)",
                                  "b.conf");
    EXPECT_EQ(mapped.spec.release, "17");
    EXPECT_EQ(mapped.kickstartPath, "/abs/boot.ks");
    EXPECT_FALSE(mapped.spec.updates);
    EXPECT_FALSE(mapped.spec.updatesTesting);
    EXPECT_TRUE(mapped.spec.repos.empty());
    EXPECT_TRUE(mapped.warnings.empty());
}

TEST(CtlLegacyConfig, OtherTypeSectionsAreIgnoredWithAWarning) {
    auto mapped = mapLegacyConfig(
        "[DEFAULT]\ntype=dvd\narch=x86_64\n[dvd]\nrelease=17\nname=fedora\nconfig=d.ks\n"
        "[live]\nlabel=x\n",
        "d.conf");
    ASSERT_EQ(mapped.warnings.size(), 1u);
    EXPECT_THAT(mapped.warnings[0], HasSubstr("[live]: section ignored: the request is type=dvd"));
    EXPECT_EQ(mapped.kickstartPath, "d.ks");
}

TEST(CtlLegacyConfig, UnknownKeyIsRefusedByName) {
    auto error = errorOf(
        "[DEFAULT]\ntype=live\narch=x86_64\n[live]\nrelease=39\nconfig=a.ks\n"
        "frobnicate=yes\n");
    EXPECT_THAT(error, HasSubstr("[live] frobnicate=yes: unknown key"));
}

TEST(CtlLegacyConfig, KeysThatWouldBuildSomethingElseAreErrors) {
    auto base = std::string("[DEFAULT]\ntype=boot\narch=x86_64\n[boot]\nrelease=17\nconfig=a.ks\n");
    EXPECT_THAT(errorOf(base + "nvr=wget-1.13.4-4.fc17\n"),
                HasSubstr("[boot] nvr=wget-1.13.4-4.fc17"));
    EXPECT_THAT(errorOf(base + "17_mirror=http://x/mirrorlist\n"),
                HasSubstr("[boot] 17_mirror=http://x/mirrorlist: mirror lists are not supported; "
                          "give the repository's base URL as 17_url"));
    EXPECT_THAT(errorOf(base + "extra_url=ftp://x/os\n"),
                HasSubstr("[boot] extra_url=ftp://x/os: the URL has the scheme ftp:"));
    EXPECT_THAT(errorOf(base + "imagebuild-side_url=http://x/os\n"),
                HasSubstr("the repository name starts with \"imagebuild-\""));
    EXPECT_THAT(errorOf(base + "version=18\n"),
                HasSubstr("[boot] version=18: differs from release 17"));
    EXPECT_THAT(errorOf(base + "stage=gather\n"), HasSubstr("stage=gather"));
}

TEST(CtlLegacyConfig, UpdatesAndRepositoryKeysMapOntoTheRequest) {
    auto mapped = mapLegacyConfig(
        "[DEFAULT]\ntype=boot\narch=x86_64\n[boot]\nrelease=17\nconfig=a.ks\nupdates=1\n"
        "updates-testing=yes\n17_url=http://x/os\nextras_url=file:///srv/extras\n",
        "b.conf");
    const auto& r = mapped.spec;
    EXPECT_TRUE(r.updates);
    EXPECT_TRUE(r.updatesTesting);
    EXPECT_EQ(r.repos.size(), 2u);
    EXPECT_EQ(r.repos.at("17"), "http://x/os");
    EXPECT_EQ(r.repos.at("extras"), "file:///srv/extras");
    EXPECT_TRUE(mapped.warnings.empty());
}

TEST(CtlLegacyConfig, EveryErrorIsReportedAtOnce) {
    auto error = errorOf("[DEFAULT]\ntype=live\n[live]\nrelease=39\nconfig=a.ks\nnvr=x\nbid=7\n");
    EXPECT_THAT(error, HasSubstr("nvr=x"));
    EXPECT_THAT(error, HasSubstr("bid=7"));
    EXPECT_THAT(error, HasSubstr("[DEFAULT] arch: missing"));
}

TEST(CtlLegacyConfig, TypeMustBeALegacyType) {
    EXPECT_THAT(errorOf("[DEFAULT]\ntype=floppy\n"),
                HasSubstr("type=floppy: unknown image type; expected boot, dvd or live"));
    EXPECT_THAT(errorOf("[DEFAULT]\narch=x\n"), HasSubstr("type: missing"));
}

TEST(CtlLegacyConfig, ConflictingReleasesAreNamed) {
    auto error = errorOf(
        "[DEFAULT]\ntype=live\narch=x86_64\nrelease=17\n[live]\nreleasever=rawhide\nconfig=a.ks\n");
    EXPECT_THAT(error, HasSubstr("[live] releasever=rawhide: conflicts with [DEFAULT] release=17"));
}

TEST(CtlLegacyConfig, KickstartUrlsAreRefused) {
    auto error =
        errorOf("[DEFAULT]\ntype=live\narch=x86_64\n[live]\nrelease=1\nconfig=http://h/x.ks\n");
    EXPECT_THAT(error, HasSubstr("config=http://h/x.ks: kickstarts by URL are not supported"));
}

TEST(CtlLegacyConfig, SectionNameWinsOverDefault) {
    auto mapped = mapLegacyConfig(
        "[DEFAULT]\ntype=live\narch=x86_64\nname=generic\n[live]\nrelease=1\nname=mine\nconfig=a."
        "ks\n",
        "x.conf");
    EXPECT_EQ(mapped.spec.name, "mine");
}

TEST(CtlLegacyConfig, UnknownSectionAndSyntaxErrors) {
    EXPECT_THAT(errorOf("[DEFAULT]\ntype=live\narch=a\n[live]\nrelease=1\nconfig=a\n[lvie]\nx=1\n"),
                HasSubstr("[lvie] x=1: unknown section"));
    EXPECT_THAT(errorOf("[DEFAULT]\ntype=live\nthis line is not ini\n"),
                HasSubstr("imagebuild.conf:3: not a valid INI line"));
}

TEST(CtlLegacyConfig, MissingFileIsNamed) {
    try {
        loadLegacyConfig("/nonexistent/imagebuild.conf");
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_THAT(e.what(), HasSubstr("/nonexistent/imagebuild.conf: cannot read"));
    }
}

TEST(CtlBuildRequest, RepoArgumentsAreNameEqualsAUsableUrl) {
    auto repos = parseRepos({"extras=https://example.org/x/", "local=file:///srv/repo"});
    EXPECT_EQ(repos.at("extras"), "https://example.org/x/");
    EXPECT_EQ(repos.at("local"), "file:///srv/repo");
    auto errorOfRepo = [](const std::string& arg) {
        try {
            parseRepos({arg});
        } catch (const CtlError& e) {
            EXPECT_EQ(e.exitCode(), kExitUsage);
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_THAT(errorOfRepo("extras"), HasSubstr("expected NAME=URL"));
    EXPECT_THAT(errorOfRepo("old=ftp://x/"), HasSubstr("--repo 'old=ftp://x/': the URL has the "
                                                       "scheme ftp:; allowed: http://, https:// "
                                                       "and file:///"));
    EXPECT_THAT(errorOfRepo("imagebuild-side=file:///x"), HasSubstr("the name starts with"));
    try {
        parseRepos({"a=http://x/", "a=http://y/"});
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_THAT(e.what(), HasSubstr("another --repo is named a"));
    }
}

TEST(CtlBuildRequest, RpmsThatCannotBeOpenedOrShareANameAreRefused) {
    try {
        openRpms({"/nonexistent/foo.rpm"});
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_THAT(e.what(), HasSubstr("--rpm /nonexistent/foo.rpm: cannot open it"));
    }
    try {
        openRpms({"/dev/null", "/dev/../dev/null"});
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_THAT(e.what(), HasSubstr("another --rpm has the file name null"));
    }
    BuildSpec spec;
    spec.rpms = openRpms({"/dev/null"});
    spec.repos = {{"extras", "http://x/"}};
    spec.updates = true;
    auto variants = specToVariants(spec);
    EXPECT_EQ(variants.count("rpms"), 1u);
    EXPECT_EQ(variants.count("repos"), 1u);
    EXPECT_EQ(variants.count("updates"), 1u);
    EXPECT_EQ(variants.count("updates_testing"), 0u);
}
