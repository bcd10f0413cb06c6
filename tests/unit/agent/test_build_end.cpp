#include "agent/build_end.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "agent/state_store.hpp"
#include "agent/webhook.hpp"
#include "common/atomic_file.hpp"
#include "tests/unit/temp_tree.hpp"

namespace fs = std::filesystem;
using namespace imagebuild;
using namespace imagebuild::agent;

namespace {

class BuildEnd : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(root_ / "pending");
        // An id no journal has lines for: the mails must be complete anyway.
        record_.id = "endtest" + std::to_string(::getpid()) + "-4";
        record_.number = 4;
        record_.spec.type = "oemdrv";
        record_.spec.arch = "x86_64";
        record_.spec.release = "f39";
        record_.spec.notify = {"qa@example.org"};
        record_.state = state::kRunning;
        record_.startedAt = 1700000000000000;
        StateStore(root_).create(record_, "lang en_US\n");
        buildDir_ = root_ / "builds" / record_.id;

        ImageType type;
        type.name = "oemdrv";
        type.artifacts = {"*.iso"};
        config_.types["oemdrv"] = type;
        config_.mail.sendmail = {"/bin/sh", "-c", "cat >> \"$0\"", (root_ / "mbox").string()};
        config_.mail.publicUrl = "http://builder:8470";
    }
    void recordOutcome(const std::string& result, const std::string& status) {
        UnitOutcome outcome{result, "exited", status, 1700000060000000, {}};
        writeFileAtomic(buildDir_ / "outcome", formatOutcome(outcome));
    }
    std::string mbox() { return readFile(root_ / "mbox").value_or(""); }

    // The journal is the system tests' (test-logs.sh): here, what was asked.
    std::vector<std::string> marks_;
    MarkLogEnd markEnd_ = [this](const std::string& id, const std::string& state) {
        marks_.push_back(id + " " + state);
        return std::vector<std::string>{};
    };

    imagebuild::testing::TempTree tree_;
    const fs::path& root_ = tree_.root();
    fs::path buildDir_;
    BuildRecord record_;
    Config config_;
};

}  // namespace

TEST_F(BuildEnd, ASucceededBuildIsStagedAndMailedWithChecksums) {
    std::ofstream(buildDir_ / "out" / "oemdrv.iso") << "ISO";
    recordOutcome("success", "0");
    auto report = finishBuild(buildDir_, config_, "builder", markEnd_);
    EXPECT_EQ(report.result, "succeeded");
    // The log is ended, with the final state, before it is staged.
    EXPECT_EQ(marks_, std::vector<std::string>{record_.id + " succeeded"});
    EXPECT_EQ(report.stagedFiles, 5u);  // oemdrv.iso ks.cfg build.log manifest.json SHA256SUMS
    EXPECT_TRUE(report.problems.empty());
    EXPECT_EQ(report.mail, "sent");
    auto mail = mbox();
    EXPECT_NE(mail.find("succeeded: oemdrv x86_64 f39"), std::string::npos) << mail;
    EXPECT_NE(mail.find("http://builder:8470/artifacts/" + record_.id + "/oemdrv.iso"),
              std::string::npos);
    EXPECT_NE(mail.find("sha256 "), std::string::npos);
}

TEST_F(BuildEnd, AFailedBuildsMailIsCompleteWithoutAnyJournalLine) {
    recordOutcome("exit-code", "3");
    auto report = finishBuild(buildDir_, config_, "builder", markEnd_);
    EXPECT_EQ(report.result, "failed");
    auto mail = mbox();
    EXPECT_NE(mail.find("Build " + record_.id + " failed on builder"), std::string::npos) << mail;
    EXPECT_NE(mail.find("exit status: 3"), std::string::npos);
    EXPECT_NE(mail.find("(the journal holds no line of this build)"), std::string::npos);
    EXPECT_TRUE(fs::exists(buildDir_ / "artifacts" / "build.log"));
    EXPECT_TRUE(fs::exists(buildDir_ / "artifacts" / "manifest.json"));
}

TEST_F(BuildEnd, ASecondRunNeitherStagesNorMailsAgain) {
    recordOutcome("success", "0");
    std::ofstream(buildDir_ / "out" / "oemdrv.iso") << "ISO";
    finishBuild(buildDir_, config_, "builder", markEnd_);
    auto firstMail = mbox();
    fs::remove(buildDir_ / "out" / "oemdrv.iso");  // a rerun would now stage nothing
    auto again = finishBuild(buildDir_, config_, "builder", markEnd_);
    EXPECT_EQ(again.stagedFiles, 5u);
    EXPECT_EQ(again.mail, "already handled: sent\n");
    EXPECT_EQ(mbox(), firstMail);
    // One end mark in the build's log (imagebuild-end@ runs after the
    // unit's own step).
    EXPECT_EQ(marks_, std::vector<std::string>{record_.id + " succeeded"});
}

// The outcome could not be written: the step says nothing final (no mail,
// no webhook claiming "running"), and leaves the final webhook to the agent,
// which posts it when no marker says the step did.
TEST_F(BuildEnd, WithoutAnOutcomeNoFinalMailOrWebhookIsSent) {
    config_.webhook.url = "http://192.0.2.1:9/hook";
    auto report = finishBuild(buildDir_, config_, "builder", markEnd_);
    EXPECT_EQ(report.webhook, "not sent: the build's outcome is not recorded");
    EXPECT_EQ(report.mail, "not sent: the build's outcome is not recorded");
    EXPECT_FALSE(finalWebhookHandled(buildDir_));
    EXPECT_FALSE(fs::exists(buildDir_ / "mail-finished"));
    EXPECT_EQ(mbox(), "");
}

TEST_F(BuildEnd, AMailFailureIsAProblemNotAResult) {
    recordOutcome("success", "0");
    std::ofstream(buildDir_ / "out" / "oemdrv.iso") << "ISO";
    config_.mail.sendmail = {"/bin/false"};
    auto report = finishBuild(buildDir_, config_, "builder", markEnd_);
    EXPECT_EQ(report.result, "succeeded");
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_EQ(report.problems[0], "final mail: /bin/false exited with status 1");
}

TEST_F(BuildEnd, SubmissionMailOnce) {
    EXPECT_EQ(mailSubmitted(buildDir_, config_, "builder"), "sent");
    EXPECT_EQ(mailSubmitted(buildDir_, config_, "builder"), "already handled: sent\n");
    auto mail = mbox();
    EXPECT_NE(mail.find("imagebuild accepted build " + record_.id + " on builder."),
              std::string::npos)
        << mail;
}
