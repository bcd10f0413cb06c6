// The [staging], [mail] and [forwarder] sections of imagebuild.conf, as the
// agent reads them.
#include <gtest/gtest.h>

#include "common/config.hpp"

using imagebuild::ConfigError;
using imagebuild::parseConfig;

namespace {

const std::string kType =
    "[type.oemdrv]\ncommand = /usr/bin/xorriso -as mkisofs -o {outdir}/x.iso\n";

std::string errorOf(const std::string& text) {
    try {
        parseConfig(text, "imagebuild.conf");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ConfigNotify, DefaultsWithoutSections) {
    auto config = parseConfig(kType, "imagebuild.conf");
    EXPECT_TRUE(config.staging.copyTo.empty());
    EXPECT_TRUE(config.mail.enabled);
    EXPECT_EQ(config.mail.sendmail, (std::vector<std::string>{"/usr/sbin/sendmail", "-i"}));
}

TEST(ConfigNotify, ReadsStagingAndMail) {
    auto config = parseConfig(kType +
                                  "[staging]\ncopy_to = /srv/images\n"
                                  "[mail]\nfrom = builds@example.org\n"
                                  "sendmail = /usr/sbin/dma -i\npublic_url = http://b:8470/\n",
                              "imagebuild.conf");
    EXPECT_EQ(config.staging.copyTo, "/srv/images");
    EXPECT_EQ(config.mail.from, "builds@example.org");
    EXPECT_EQ(config.mail.sendmail, (std::vector<std::string>{"/usr/sbin/dma", "-i"}));
    EXPECT_EQ(config.mail.publicUrl, "http://b:8470");
}

TEST(ConfigNotify, TheForwarderSectionIsLeftToTheForwarder) {
    EXPECT_NO_THROW(parseConfig(kType + "[forwarder]\npeers = http://x:8470\nanything = 1\n",
                                "imagebuild.conf"));
}

TEST(ConfigNotify, BadValuesNameFileLineAndKey) {
    EXPECT_EQ(errorOf(kType + "[staging]\ncopy_to = relative/dir\n"),
              "imagebuild.conf:4: copy_to must be an absolute path, not \"relative/dir\"");
    EXPECT_EQ(errorOf(kType + "[mail]\nenabled = maybe\n"),
              "imagebuild.conf:4: enabled must be yes or no, not \"maybe\"");
    EXPECT_EQ(errorOf(kType + "[mail]\nsendmail = sendmail -i\n"),
              "imagebuild.conf:4: sendmail must start with an absolute program path, not "
              "\"sendmail -i\"");
    EXPECT_NE(errorOf(kType + "[mail]\nrelay = smtp.example.org\n").find("unknown key 'relay'"),
              std::string::npos);
    EXPECT_NE(errorOf(kType + "[mails]\nfrom = x\n").find("unknown section [mails]"),
              std::string::npos);
}
