#include "agent/mailer.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "common/atomic_file.hpp"
#include "tests/unit/temp_tree.hpp"

namespace fs = std::filesystem;
using namespace imagebuild;
using namespace imagebuild::agent;

namespace {

class Mailer : public ::testing::Test {
protected:
    void SetUp() override {
        // A sendmail interface that keeps what it is given: the message on
        // stdin and its arguments.
        config_.sendmail = {"/bin/sh", "-c", "cat >> \"$0.mbox\"; echo \"$@\" >> \"$0.args\"",
                            (dir_ / "spool").string()};
        message_ = {"imagebuild@h", {"a@example.org", "b@example.org"}, "s", "body\n", 0, "m@h"};
    }
    std::string read(const std::string& name) { return tree_.read(name); }

    imagebuild::testing::TempTree tree_;
    const fs::path& dir_ = tree_.root();
    MailConfig config_;
    MailMessage message_;
};

}  // namespace

TEST_F(Mailer, PipesTheMessageAndPassesRecipientsAfterDashDash) {
    EXPECT_EQ(sendMail(config_, message_), "");
    EXPECT_EQ(read("spool.args"), "-- a@example.org b@example.org\n");
    EXPECT_EQ(read("spool.mbox"), renderMail(message_));
}

TEST_F(Mailer, FailuresNameTheProgramAndStatus) {
    config_.sendmail = {"/bin/false"};
    EXPECT_EQ(sendMail(config_, message_), "/bin/false exited with status 1");
    config_.sendmail = {"/nonexistent/sendmail"};
    EXPECT_EQ(sendMail(config_, message_),
              "cannot run /nonexistent/sendmail: No such file or directory");
}

TEST_F(Mailer, SendOnceSendsOnceAndRecordsIt) {
    auto first = sendOnce(dir_, "finished", config_, message_);
    EXPECT_EQ(first.outcome, MailOutcome::kSent);
    EXPECT_EQ(read("mail-finished"), "sent\n");
    auto second = sendOnce(dir_, "finished", config_, message_);
    EXPECT_EQ(second.outcome, MailOutcome::kAlreadyHandled);
    EXPECT_EQ(read("spool.mbox"), renderMail(message_));  // still one mail
}

TEST_F(Mailer, ACrashWhileSendingNeverLeadsToASecondMail) {
    writeFileAtomic(dir_ / "mail-finished", "sending\n");
    auto retry = sendOnce(dir_, "finished", config_, message_);
    EXPECT_EQ(retry.outcome, MailOutcome::kAlreadyHandled);
    EXPECT_EQ(retry.detail, "already handled: sending\n");
    EXPECT_FALSE(fs::exists(dir_ / "spool.mbox"));
}

TEST_F(Mailer, AFailureIsRecordedAndNotRetried) {
    config_.sendmail = {"/bin/false"};
    auto attempt = sendOnce(dir_, "submitted", config_, message_);
    EXPECT_EQ(attempt.outcome, MailOutcome::kFailed);
    EXPECT_EQ(read("mail-submitted"), "failed: /bin/false exited with status 1\n");
}

TEST_F(Mailer, NothingToSendWithoutAddressesOrWhenDisabled) {
    message_.to.clear();
    EXPECT_EQ(sendOnce(dir_, "finished", config_, message_).outcome, MailOutcome::kNotNeeded);
    message_.to = {"a@example.org"};
    config_.enabled = false;
    EXPECT_EQ(sendOnce(dir_, "finished", config_, message_).outcome, MailOutcome::kNotNeeded);
    EXPECT_FALSE(fs::exists(dir_ / "mail-finished"));
}
