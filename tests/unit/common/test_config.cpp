#include "common/config.hpp"

#include <gtest/gtest.h>

using imagebuild::Config;
using imagebuild::ConfigError;
using imagebuild::parseConfig;

namespace {

const char* kGood = R"([host]
arches = x86_64 aarch64
releases = 40, 41
max_parallel = 3
queue_max = 7
idle_exit_sec = 0
monitor_url = http://{host}:8080/monitor/{id}
memory_max = 4G
cpu_quota = 250%
tasks_max = 100
timeout_sec = 60
min_free = 500M

[type.oemdrv]
command = xorriso -as mkisofs -volid OEMDRV
  -output {outdir}/oemdrv.iso {ks}
tools = xorriso
artifacts = *.iso

[type.live]
command = livemedia-creator --ks {ks} --title "Live {release}"
sandbox = none
network = yes
)";

// The message of the ConfigError parseConfig throws for text.
std::string errorOf(const std::string& text) {
    try {
        parseConfig(text, "test.conf");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(Config, ParsesEveryKey) {
    Config c = parseConfig(kGood, "test.conf");
    EXPECT_EQ(c.host.arches, (std::vector<std::string>{"x86_64", "aarch64"}));
    EXPECT_EQ(c.host.releases, (std::vector<std::string>{"40", "41"}));
    EXPECT_EQ(c.host.maxParallel, 3u);
    EXPECT_EQ(c.host.queueMax, 7u);
    EXPECT_EQ(c.host.idleExitSec, 0u);
    EXPECT_EQ(c.host.monitorUrl, "http://{host}:8080/monitor/{id}");
    EXPECT_EQ(c.host.memoryMax, std::uint64_t{4} << 30);
    EXPECT_EQ(c.host.cpuQuotaPercent, 250u);
    EXPECT_EQ(c.host.tasksMax, 100u);
    EXPECT_EQ(c.host.timeoutSec, 60u);
    EXPECT_EQ(c.host.minFreeBytes, std::uint64_t{500} << 20);
    ASSERT_EQ(c.types.size(), 2u);
    const auto& oemdrv = c.types.at("oemdrv");
    // A continuation line extends the command.
    EXPECT_EQ(oemdrv.command.elements(),
              (std::vector<std::string>{"xorriso", "-as", "mkisofs", "-volid", "OEMDRV", "-output",
                                        "{outdir}/oemdrv.iso", "{ks}"}));
    EXPECT_EQ(oemdrv.sandbox, imagebuild::Sandbox::kStrict);
    EXPECT_FALSE(oemdrv.network);  // the default: no network
    EXPECT_FALSE(c.webhook.allowPrivate);
    EXPECT_EQ(oemdrv.artifacts, std::vector<std::string>{"*.iso"});
    const auto& live = c.types.at("live");
    EXPECT_EQ(live.command.elements().back(), "Live {release}");
    // Without tools=, the command's program is the tool.
    EXPECT_EQ(live.tools, std::vector<std::string>{"livemedia-creator"});
    EXPECT_EQ(live.sandbox, imagebuild::Sandbox::kNone);
    EXPECT_TRUE(live.network);
}

TEST(Config, DefaultsWhenHostSectionIsAbsent) {
    Config c = parseConfig("[type.t]\ncommand = true\n", "x.conf");
    EXPECT_EQ(c.host.maxParallel, 2u);
    EXPECT_EQ(c.host.arches.size(), 1u);
    EXPECT_TRUE(c.host.releases.empty());
    EXPECT_FALSE(c.host.memoryMax.has_value());
    EXPECT_EQ(c.host.minFreeBytes, std::uint64_t{2} << 30);  // documented default
}

TEST(Config, MinFreeIsASizeAndMayBeZero) {
    const std::string type = "[type.t]\ncommand = true\n";
    EXPECT_EQ(parseConfig("[host]\nmin_free = 0\n" + type, "x").host.minFreeBytes, 0u);
    EXPECT_EQ(parseConfig("[host]\nmin_free = 3T\n" + type, "x").host.minFreeBytes,
              std::uint64_t{3} << 40);
    EXPECT_EQ(parseConfig("[host]\nmin_free = 4096\n" + type, "x").host.minFreeBytes, 4096u);
    EXPECT_EQ(errorOf("[host]\narches = x86_64\nmin_free = plenty\n" + type),
              "test.conf:3: min_free must be a size such as 2G, 500M or 0, not \"plenty\"");
    EXPECT_EQ(errorOf("[host]\nmin_free = 2GB\n" + type),
              "test.conf:2: min_free must be a size such as 2G, 500M or 0, not \"2GB\"");
    EXPECT_EQ(errorOf("[host]\nmin_free = 99999999999T\n" + type),
              "test.conf:2: min_free must be a size such as 2G, 500M or 0, not \"99999999999T\"");
}

TEST(Config, EveryErrorNamesFileAndLine) {
    const std::string type = "[type.t]\ncommand = true\n";
    EXPECT_EQ(errorOf("[host]\nthis is not ini\n" + type),
              "test.conf:2: not a [section] or key = value line");
    EXPECT_EQ(errorOf("[host]\n\nmax_parallel = many\n" + type),
              "test.conf:3: max_parallel must be a whole number from 1 to 256, not \"many\"");
    EXPECT_EQ(errorOf("[host]\nmax_parallel = 0\n" + type),
              "test.conf:2: max_parallel must be a whole number from 1 to 256, not \"0\"");
    EXPECT_EQ(errorOf("[host]\ncolour = red\n" + type),
              "test.conf:2: unknown key 'colour' in [host]; known keys: arches, releases, "
              "max_parallel, queue_max, idle_exit_sec, monitor_url, memory_max, cpu_quota, "
              "tasks_max, timeout_sec, min_free");
    // Every unknown key of a section, each with its line, in the order of the file.
    const std::string hostKeys =
        "; known keys: arches, releases, max_parallel, queue_max, idle_exit_sec, monitor_url, "
        "memory_max, cpu_quota, tasks_max, timeout_sec, min_free";
    EXPECT_EQ(errorOf("[host]\ncolour = red\nmax_parallel = 1\nbogus = 1\n" + type),
              "test.conf:2: unknown key 'colour' in [host]" + hostKeys + "\n" +
                  "test.conf:4: unknown key 'bogus' in [host]" + hostKeys);
    EXPECT_EQ(errorOf("[host]\nmax_parallel = 1\nmax_parallel = 2\n" + type),
              "test.conf:3: 'max_parallel' is set twice in [host] (first at line 2)");
    EXPECT_EQ(errorOf("[host]\nmemory_max = lots\n" + type),
              "test.conf:2: memory_max must be a whole number from 1 to 18446744073709551615, "
              "not \"lots\"");
    EXPECT_EQ(errorOf("[host]\ncpu_quota = 2\n" + type),
              "test.conf:2: cpu_quota must be a percentage such as 200%, not \"2\"");
    EXPECT_EQ(errorOf("[host]\narches =\n" + type),
              "test.conf:2: arches is empty; list at least one, e.g. x86_64");
    EXPECT_EQ(errorOf("[host]\ntimeout_sec = 99999999\n" + type),
              "test.conf:2: timeout_sec must be a whole number from 1 to 604800, not \"99999999\"");
    EXPECT_EQ(errorOf("[host]\nqueue_max = 1\n"),
              "test.conf:3: no [type.<name>] section: this "
              "host would build nothing");
}

TEST(Config, TypeErrorsNameFileAndLine) {
    EXPECT_EQ(errorOf("[host]\n\n[type.t]\ntools = x\n"), "test.conf:3: [type.t] has no command");
    EXPECT_EQ(errorOf("[type.Bad!]\ncommand = true\n"),
              "test.conf:1: bad image type name \"Bad!\": use lower-case letters, digits, '-' "
              "and '_', starting with a letter");
    EXPECT_EQ(errorOf("[type.t]\ncommand = mk {out}\n"),
              "test.conf:2: unknown placeholder {out}; known: {ks}, {outdir}, {workdir}, {arch}, "
              "{release}, {id}, {name}");
    EXPECT_EQ(errorOf("[type.t]\ncommand = mk \"open\n"),
              "test.conf:2: unclosed \" quote in command");
    EXPECT_EQ(errorOf("[type.t]\ncommand = true\nsandbox = loose\n"),
              "test.conf:3: sandbox must be strict or none, not \"loose\"");
    EXPECT_EQ(errorOf("[type.t]\ncommand = true\nmemory = 1\n"),
              "test.conf:3: unknown key 'memory' in [type.t]; known keys: command, tools, "
              "sandbox, network, artifacts, description, retry, stall_timeout, stall_action");
    EXPECT_EQ(errorOf("[type.t]\ncommand = true\nnetwork = sometimes\n"),
              "test.conf:3: network must be yes or no, not \"sometimes\"");
    EXPECT_EQ(errorOf("[webhook]\nallow_private = 1\n[type.t]\ncommand = true\n"),
              "test.conf:2: allow_private must be yes or no, not \"1\"");
    EXPECT_EQ(
        errorOf("[types]\ncommand = true\n"),
        "test.conf:1: unknown section [types]; known: [host], [staging], [mail], [retention], "
        "[webhook], [repositories], [forwarder], [release.<name>], [type.<name>]");
}

TEST(Config, OverlongLineIsAnErrorNotATruncation) {
    std::string text = "[type.t]\ncommand = true " + std::string(300, 'x') + "\n";
    EXPECT_EQ(errorOf(text).substr(0, 31), "test.conf:2: line too long (at ");
}

TEST(Config, MissingFileIsNamed) {
    try {
        imagebuild::loadConfig("/nonexistent/imagebuild.conf");
        FAIL() << "no error";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/imagebuild.conf: no such file");
    }
}

TEST(Config, ShippedDefaultConfigParses) {
    Config c = imagebuild::loadConfig(IMAGEBUILD_DEFAULT_CONFIG);
    for (const char* type : {"boot", "dvd", "live", "oemdrv"}) {
        EXPECT_TRUE(c.types.count(type)) << type;
    }
    EXPECT_EQ(c.types.at("oemdrv").tools, std::vector<std::string>{"xorriso"});
}

TEST(Config, OnlyTypesWithInstalledToolsAreAvailable) {
    Config c = parseConfig(
        "[type.here]\ncommand = sh -c true\n[type.gone]\ncommand = no-such-program-xyz\n", "t");
    EXPECT_EQ(imagebuild::availableTypes(c), std::vector<std::string>{"here"});
    EXPECT_EQ(imagebuild::findProgram("sh").front(), '/');
    EXPECT_EQ(imagebuild::findProgram("../sh"), "");
}

TEST(Config, UpdatesRepositoriesDefaultToFedorasAndAreSetPerRelease) {
    auto c = parseConfig(R"([repositories]
max_upload = 10M

[release.rawhide]
updates =
updates_testing =

[release.40]
updates = http://mirror.lan/updates/{release}/{arch}/

[type.oemdrv]
command = true
)",
                         "test.conf");
    EXPECT_EQ(c.repositories.maxUploadBytes, 10u << 20);
    EXPECT_EQ(updatesUrlFor(c.repositories, "39", "x86_64", false),
              "https://dl.fedoraproject.org/pub/fedora/linux/updates/39/Everything/x86_64/");
    EXPECT_EQ(updatesUrlFor(c.repositories, "39", "aarch64", true),
              "https://dl.fedoraproject.org/pub/fedora/linux/updates/testing/39/Everything/"
              "aarch64/");
    EXPECT_EQ(updatesUrlFor(c.repositories, "40", "x86_64", false),
              "http://mirror.lan/updates/40/x86_64/");
    // Not overridden in [release.40]: the default.
    EXPECT_EQ(updatesUrlFor(c.repositories, "40", "x86_64", true),
              "https://dl.fedoraproject.org/pub/fedora/linux/updates/testing/40/Everything/"
              "x86_64/");
    EXPECT_EQ(updatesUrlFor(c.repositories, "rawhide", "x86_64", false), "");
    EXPECT_EQ(updatesUrlFor(c.repositories, "rawhide", "x86_64", true), "");
}

TEST(Config, AnUpdatesUrlThatIsNotARepositoryUrlIsAnError) {
    try {
        parseConfig("[release.40]\nupdates = ftp://mirror/{release}/\n[type.a]\ncommand = true\n",
                    "test.conf");
        FAIL() << "no error";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("test.conf:2: updates \"ftp://mirror/{release}/\""),
                  std::string::npos)
            << e.what();
    }
    try {
        parseConfig("[release.40]\nmirror = x\n[type.a]\ncommand = true\n", "test.conf");
        FAIL() << "no error";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("unknown key 'mirror' in [release.40]"),
                  std::string::npos)
            << e.what();
    }
}

TEST(Config, StallTimeoutAndActionOfAType) {
    auto t = parseConfig("[type.t]\ncommand = true\n", "x").types.at("t");
    EXPECT_EQ(t.stallTimeoutSec, 30u * 60);  // documented default
    EXPECT_EQ(t.stallAction, imagebuild::StallAction::kNone);
    t = parseConfig("[type.t]\ncommand = true\nstall_timeout = 0\nstall_action = cancel\n", "x")
            .types.at("t");
    EXPECT_EQ(t.stallTimeoutSec, 0u);
    EXPECT_EQ(t.stallAction, imagebuild::StallAction::kCancel);
    EXPECT_EQ(errorOf("[type.t]\ncommand = true\nstall_timeout = 5m\n"),
              "test.conf:3: stall_timeout must be a whole number from 0 to 604800, not \"5m\"");
    EXPECT_EQ(errorOf("[type.t]\ncommand = true\n\nstall_action = kill\n"),
              "test.conf:4: stall_action must be none or cancel, not \"kill\"");
}

// The [staging], [mail], [retention], [webhook] and [forwarder] sections, as the
// agent reads them.
namespace {

const std::string kType =
    "[type.oemdrv]\ncommand = /usr/bin/xorriso -as mkisofs -o {outdir}/x.iso\n";

std::string sectionErrorOf(const std::string& text) {
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
    EXPECT_EQ(sectionErrorOf(kType + "[staging]\ncopy_to = relative/dir\n"),
              "imagebuild.conf:4: copy_to must be an absolute path, not \"relative/dir\"");
    EXPECT_EQ(sectionErrorOf(kType + "[mail]\nenabled = maybe\n"),
              "imagebuild.conf:4: enabled must be yes or no, not \"maybe\"");
    EXPECT_EQ(sectionErrorOf(kType + "[mail]\nsendmail = sendmail -i\n"),
              "imagebuild.conf:4: sendmail must start with an absolute program path, not "
              "\"sendmail -i\"");
    EXPECT_NE(
        sectionErrorOf(kType + "[mail]\nrelay = smtp.example.org\n").find("unknown key 'relay'"),
        std::string::npos);
    EXPECT_NE(sectionErrorOf(kType + "[mails]\nfrom = x\n").find("unknown section [mails]"),
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
    EXPECT_EQ(sectionErrorOf(kType + "[retention]\nmax_age = soon\n"),
              "imagebuild.conf:4: max_age must be a duration such as 30d, 12h, 90min or 45s, or "
              "infinity, not \"soon\"");
    EXPECT_EQ(sectionErrorOf(kType + "[retention]\nmax_age = 5 d\n"),
              "imagebuild.conf:4: max_age must be a duration such as 30d, 12h, 90min or 45s, or "
              "infinity, not \"5 d\"");
    EXPECT_EQ(sectionErrorOf(kType + "[retention]\nmax_total_size = lots\n"),
              "imagebuild.conf:4: max_total_size must be a whole number from 1 to "
              "18446744073709551615, not \"lots\"");
    EXPECT_NE(
        sectionErrorOf(kType + "[retention]\nkeep = 3\n").find("unknown key 'keep' in [retention]"),
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
    auto https = sectionErrorOf(kType + "[webhook]\nurl = https://ci/hook\n");
    EXPECT_EQ(https.rfind("imagebuild.conf:4: url \"https://ci/hook\" is not usable: https is not "
                          "supported",
                          0),
              0u)
        << https;
    EXPECT_NE(sectionErrorOf(kType + "[webhook]\nretries = 3\n")
                  .find("unknown key 'retries' in [webhook]"),
              std::string::npos);
}
