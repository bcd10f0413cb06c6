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

TEST(ConfigNotify, LinksFollowTheForwardersPublicUrlUnlessSetThemselves) {
    auto config = parseConfig(kType + "[forwarder]\npublic_url = https://builds.example.org/\n",
                              "imagebuild.conf");
    EXPECT_EQ(config.host.monitorUrl, "https://builds.example.org/monitor/{id}");
    EXPECT_EQ(config.mail.publicUrl, "https://builds.example.org");

    config = parseConfig(kType +
                             "[host]\nmonitor_url = http://{host}:9/m/{id}\n"
                             "[mail]\npublic_url = http://mail-links\n"
                             "[forwarder]\npublic_url = https://builds.example.org\n",
                         "imagebuild.conf");
    EXPECT_EQ(config.host.monitorUrl, "http://{host}:9/m/{id}");
    EXPECT_EQ(config.mail.publicUrl, "http://mail-links");
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

TEST(ConfigRetention, DefaultsKeepThirtyDaysWithNoSizeLimit) {
    auto config = parseConfig(kType, "imagebuild.conf");
    EXPECT_EQ(config.retention.maxAgeSec, std::optional<std::uint64_t>(30 * 86400));
    EXPECT_FALSE(config.retention.maxTotalBytes);
}

TEST(ConfigRetention, ReadsDurationsAndSizes) {
    auto read = [](const std::string& section) {
        return parseConfig(kType + "[retention]\n" + section, "imagebuild.conf").retention;
    };
    EXPECT_EQ(read("max_age = 1s\n").maxAgeSec, std::optional<std::uint64_t>(1));
    EXPECT_EQ(read("max_age = 90min\n").maxAgeSec, std::optional<std::uint64_t>(5400));
    EXPECT_EQ(read("max_age = 12h\n").maxAgeSec, std::optional<std::uint64_t>(43200));
    EXPECT_EQ(read("max_age = 2w\n").maxAgeSec, std::optional<std::uint64_t>(14 * 86400));
    EXPECT_EQ(read("max_age = 600\n").maxAgeSec, std::optional<std::uint64_t>(600));
    EXPECT_FALSE(read("max_age = infinity\n").maxAgeSec);
    EXPECT_EQ(read("max_total_size = 20G\n").maxTotalBytes,
              std::optional<std::uint64_t>(20ULL << 30));
}

TEST(ConfigRetention, BadValuesNameFileLineAndKey) {
    EXPECT_EQ(errorOf(kType + "[retention]\nmax_age = soon\n"),
              "imagebuild.conf:4: max_age must be a duration such as 30d, 12h, 90min or 45s, or "
              "infinity, not \"soon\"");
    EXPECT_EQ(errorOf(kType + "[retention]\nmax_age = 5 d\n"),
              "imagebuild.conf:4: max_age must be a duration such as 30d, 12h, 90min or 45s, or "
              "infinity, not \"5 d\"");
    EXPECT_EQ(errorOf(kType + "[retention]\nmax_total_size = lots\n"),
              "imagebuild.conf:4: max_total_size must be a whole number from 1 to "
              "18446744073709551615, not \"lots\"");
    EXPECT_NE(errorOf(kType + "[retention]\nkeep = 3\n").find("unknown key 'keep' in [retention]"),
              std::string::npos);
}

TEST(ConfigWebhook, DefaultIsNoneAndUrlIsRead) {
    EXPECT_EQ(parseConfig(kType, "imagebuild.conf").webhook.url, "");
    EXPECT_EQ(parseConfig(kType + "[webhook]\nurl = http://ci:8080/hook\n", "imagebuild.conf")
                  .webhook.url,
              "http://ci:8080/hook");
    EXPECT_EQ(parseConfig(kType + "[webhook]\nurl =\n", "imagebuild.conf").webhook.url, "");
}

TEST(ConfigWebhook, BadValuesNameFileLineAndKey) {
    auto https = errorOf(kType + "[webhook]\nurl = https://ci/hook\n");
    EXPECT_EQ(https.rfind("imagebuild.conf:4: url \"https://ci/hook\" is not usable: https is not "
                          "supported",
                          0),
              0u)
        << https;
    EXPECT_NE(
        errorOf(kType + "[webhook]\nretries = 3\n").find("unknown key 'retries' in [webhook]"),
        std::string::npos);
}
