#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/side_repos.hpp"

using namespace imagebuild;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(SideRepos, ParsesWhatRpmSaysOfABinaryPackage) {
    auto n = parseRpmQuery("bash\t(none)\t5.2.26\t1.fc40\tx86_64\tbash-5.2.26-1.fc40.src.rpm\n");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->name, "bash");
    EXPECT_EQ(n->epoch, "");
    EXPECT_FALSE(n->source);
    EXPECT_EQ(n->str(), "bash-5.2.26-1.fc40.x86_64");
    EXPECT_EQ(n->fileName(), "bash-5.2.26-1.fc40.x86_64.rpm");
}

TEST(SideRepos, KeepsTheEpochInTheNevraNotInTheFileName) {
    auto n = parseRpmQuery("perl-libs\t4\t5.38.2\t502.fc40\tx86_64\tperl-5.38.2.src.rpm");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->str(), "perl-libs-4:5.38.2-502.fc40.x86_64");
    EXPECT_EQ(n->fileName(), "perl-libs-5.38.2-502.fc40.x86_64.rpm");
}

TEST(SideRepos, TellsASourcePackage) {
    auto n = parseRpmQuery("bash\t(none)\t5.2\t1\tx86_64\t(none)\n");
    ASSERT_TRUE(n);
    EXPECT_TRUE(n->source);
}

TEST(SideRepos, RefusesOutputThatIsNotOneLineOfFields) {
    EXPECT_FALSE(parseRpmQuery(""));
    EXPECT_FALSE(parseRpmQuery("bash\t(none)\t5.2\t1\tx86_64\n"));
    EXPECT_FALSE(parseRpmQuery("a\t\t1\t1\tnoarch\tx.src.rpm\nb\t\t1\t1\tnoarch\tx.src.rpm\n"));
    EXPECT_FALSE(parseRpmQuery("../evil\t(none)\t1\t1\tnoarch\tx.src.rpm"));
    EXPECT_FALSE(parseRpmQuery("a b\t(none)\t1\t1\tnoarch\tx.src.rpm"));
    EXPECT_FALSE(parseRpmQuery("a\tx\t1\t1\tnoarch\tx.src.rpm"));
    EXPECT_FALSE(parseRpmQuery("a\t(none)\t\t1\tnoarch\tx.src.rpm"));
}

TEST(SideRepos, APackageFitsItsOwnArchAndNoarch) {
    EXPECT_TRUE(archFitsBuild("x86_64", "x86_64"));
    EXPECT_TRUE(archFitsBuild("noarch", "aarch64"));
    EXPECT_FALSE(archFitsBuild("aarch64", "x86_64"));
    EXPECT_FALSE(archFitsBuild("i686", "x86_64"));
}

TEST(SideRepos, RepositoryUrlsAreHttpHttpsOrAbsoluteFile) {
    EXPECT_EQ(repoUrlProblem("http://mirror.example/fedora/$releasever/"), "");
    EXPECT_EQ(repoUrlProblem("https://mirror.example/fedora/"), "");
    EXPECT_EQ(repoUrlProblem("file:///srv/repo"), "");
    EXPECT_THAT(repoUrlProblem("ftp://mirror.example/"), HasSubstr("the scheme ftp:"));
    EXPECT_THAT(repoUrlProblem("ftp://mirror.example/"),
                HasSubstr("allowed: http://, https:// and file:///"));
    EXPECT_THAT(repoUrlProblem("/srv/repo"), HasSubstr("no scheme"));
    EXPECT_THAT(repoUrlProblem("file://srv/repo"), HasSubstr("absolute path"));
    EXPECT_THAT(repoUrlProblem("file:///srv/../etc"), HasSubstr("absolute path"));
    EXPECT_THAT(repoUrlProblem("http:///path"), HasSubstr("no host"));
    EXPECT_THAT(repoUrlProblem(""), HasSubstr("empty"));
    // One word of a kickstart line: nothing that would add an option.
    EXPECT_THAT(repoUrlProblem("http://x/ --proxy=http://evil"), HasSubstr("blank"));
    EXPECT_THAT(repoUrlProblem("http://x/\nrootpw x"), HasSubstr("blank"));
    EXPECT_THAT(repoUrlProblem("http://x/\"a\""), HasSubstr("quote"));
    EXPECT_THAT(repoUrlProblem("http://" + std::string(3000, 'a')), HasSubstr("at most 2048"));
}

TEST(SideRepos, RepositoryNamesAreWordsNotOurs) {
    EXPECT_EQ(repoNameProblem("extras"), "");
    EXPECT_EQ(repoNameProblem("fedora-39_extra.1"), "");
    EXPECT_THAT(repoNameProblem(""), HasSubstr("1 to 64"));
    EXPECT_THAT(repoNameProblem("a b"), HasSubstr("1 to 64"));
    EXPECT_THAT(repoNameProblem("-x"), HasSubstr("not starting"));
    EXPECT_THAT(repoNameProblem("imagebuild-side"), HasSubstr("kept for the repositories"));
}

TEST(SideRepos, ExpandsReleaseAndArchInAnUpdatesTemplate) {
    EXPECT_EQ(expandRepoTemplate("https://m/updates/{release}/Everything/{arch}/", "40", "aarch64"),
              "https://m/updates/40/Everything/aarch64/");
    EXPECT_EQ(expandRepoTemplate("https://m/{x}/", "40", "aarch64"), "https://m/{x}/");
}

TEST(SideRepos, PutsTheRepoLinesAtTheTopBetweenMarkers) {
    auto ks = withAddedRepos("lang en_US\n%packages\nbash\n%end\n",
                             {{"imagebuild-side", "file:///var/lib/imagebuild/builds/h-1/repo"},
                              {"extras", "https://x/"}});
    EXPECT_THAT(ks, StartsWith("# imagebuild: repositories added"));
    EXPECT_THAT(ks, HasSubstr("\nrepo --name=imagebuild-side "
                              "--baseurl=file:///var/lib/imagebuild/builds/h-1/repo\n"
                              "repo --name=extras --baseurl=https://x/\n"
                              "# imagebuild: end of added repositories\n"
                              "lang en_US\n%packages\nbash\n%end\n"));
}

TEST(SideRepos, ARetriedKickstartGetsOneBlockTheNewOne) {
    auto first = withAddedRepos("lang en_US\n", {{"imagebuild-side", "file:///b/h-1/repo"}});
    auto again = withAddedRepos(first, {{"imagebuild-side", "file:///b/h-2/repo"}});
    EXPECT_EQ(again, withAddedRepos("lang en_US\n", {{"imagebuild-side", "file:///b/h-2/repo"}}));
    EXPECT_EQ(withAddedRepos(first, {}), "lang en_US\n");
    EXPECT_EQ(withAddedRepos("lang en_US\n", {}), "lang en_US\n");
}
