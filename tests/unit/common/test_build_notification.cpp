// common/build_notification.cpp: the submission and final mails of a build.
#include <gtest/gtest.h>

#include "common/build_notification.hpp"

using namespace imagebuild;

namespace {

BuildInfo sampleBuild() {
    BuildInfo build;
    build.id = "builder-7";
    build.type = "oemdrv";
    build.arch = "x86_64";
    build.release = "f39";
    build.name = "nightly";
    build.notify = {"qa@example.org", "dev@example.org"};
    build.submittedAt = 1700000000000000;
    build.startedAt = 1700000001000000;
    build.finishedAt = 1700000126000000;
    build.monitorUrl = "http://builder:8470/monitor/builder-7";
    return build;
}

NotificationContext sampleContext() {
    return {"builder", "imagebuild@builder", "http://builder:8470", 1700000126};
}

}  // namespace

TEST(BuildNotification, SubmissionMailNamesTheBuildAndHowToFollowIt) {
    auto mail = submissionMail(sampleBuild(), sampleContext());
    EXPECT_EQ(mail.to, sampleBuild().notify);
    EXPECT_EQ(mail.subject, "[imagebuild] builder-7 submitted: oemdrv x86_64 f39 (nightly)");
    EXPECT_NE(mail.body.find("http://builder:8470/monitor/builder-7"), std::string::npos);
    EXPECT_NE(mail.body.find("imagebuildctl log -f builder-7"), std::string::npos);
    EXPECT_NE(mail.body.find("journalctl -f IMAGEBUILD_ID=builder-7"), std::string::npos);
    EXPECT_NE(mail.messageId.find("@builder"), std::string::npos);
}

TEST(BuildNotification, FinalMailOfASuccessListsArtifactsWithChecksumsAndUrls) {
    auto build = sampleBuild();
    build.state = build.result = "succeeded";
    build.exitStatus = 0;
    build.artifacts = {{"oemdrv.iso", "/x/oemdrv.iso", 374784, std::string(64, 'a')}};
    auto mail = finalMail(build, sampleContext(), {"/var/lib/imagebuild/builds/builder-7", {}},
                          {"a log line"});
    EXPECT_EQ(mail.subject, "[imagebuild] builder-7 succeeded: oemdrv x86_64 f39 (nightly)");
    EXPECT_NE(mail.body.find("after 2 min 05 s"), std::string::npos) << mail.body;
    EXPECT_NE(mail.body.find("oemdrv.iso  374784 bytes"), std::string::npos);
    EXPECT_NE(mail.body.find("sha256 " + std::string(64, 'a')), std::string::npos);
    EXPECT_NE(mail.body.find("http://builder:8470/artifacts/builder-7/oemdrv.iso"),
              std::string::npos);
    // A success carries no log tail.
    EXPECT_EQ(mail.body.find("a log line"), std::string::npos);
}

TEST(BuildNotification, FinalMailOfAFailureIsCompleteEvenWithoutAnyLogLine) {
    auto build = sampleBuild();
    build.state = build.result = "failed";
    build.exitStatus = 3;
    auto mail = finalMail(build, sampleContext(), {}, {});
    EXPECT_NE(mail.body.find("Build builder-7 failed on builder"), std::string::npos);
    EXPECT_NE(mail.body.find("exit status: 3"), std::string::npos);
    EXPECT_NE(mail.body.find("(the journal holds no line of this build)"), std::string::npos);
    EXPECT_NE(mail.body.find("Artifacts:\n  (none)"), std::string::npos);

    auto withTail = finalMail(build, sampleContext(), {"", {"cannot stage ks.cfg: disk full"}},
                              {"error: lorax exploded", "exit 3"});
    EXPECT_NE(withTail.body.find("Last 2 log lines:\n  error: lorax exploded\n  exit 3\n"),
              std::string::npos);
    EXPECT_NE(withTail.body.find("cannot stage ks.cfg: disk full"), std::string::npos);
}

TEST(BuildNotification, HumanDuration) {
    EXPECT_EQ(humanDuration(12'000'000), "12 s");
    EXPECT_EQ(humanDuration(245'000'000), "4 min 05 s");
    EXPECT_EQ(humanDuration(3'723'000'000), "1 h 02 min 03 s");
}
