#include "agent/unit_settings.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace imagebuild;
using namespace imagebuild::agent;

class UnitSettingsTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/imagebuild-unit-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(UnitSettingsTest, TemplateAndConfigBecomeTheUnit) {
    Config c = parseConfig(R"([host]
memory_max = 1G
cpu_quota = 150%
tasks_max = 64
[type.oemdrv]
command = sh -c "exit 0" {outdir}/{name}.iso {ks} {arch}-{release}
)",
                           "t.conf");
    StateStore store(dir_);
    BuildRecord r;
    r.id = "h-3";
    r.spec.type = "oemdrv";
    r.spec.arch = "x86_64";
    r.spec.release = "40";
    r.spec.name = "my image";
    r.timeoutUSec = 5'000'000;
    auto u = unitSettingsFor(r, c.types.at("oemdrv"), c, store,
                             HelperPaths{"/usr/libexec/rec", "/usr/libexec/hook", ""});
    auto dir = (dir_ / "builds" / "h-3").string();
    EXPECT_EQ(u.unitName, "imagebuild-h-3.service");
    EXPECT_EQ(u.slice, "imagebuild.slice");
    ASSERT_EQ(u.execStart.size(), 6u);
    EXPECT_EQ(u.execStart[0].front(), '/');  // resolved to an absolute path
    EXPECT_EQ(u.execStart[2], "exit 0");
    EXPECT_EQ(u.execStart[3], dir + "/out/my image.iso");
    EXPECT_EQ(u.execStart[4], dir + "/ks.cfg");
    EXPECT_EQ(u.execStart[5], "x86_64-40");
    EXPECT_EQ(u.execStopPost, (std::vector<std::string>{"/usr/libexec/rec", dir}));
    EXPECT_EQ(u.execStopPostAfter,
              (std::vector<std::string>{"/usr/libexec/hook", "finished", dir}));
    // The end of the build, in units a daemon-reload keeps: one per way the
    // unit can end (systemd 252 passes $MONITOR_* only to a unit named once).
    auto withEnds = unitSettingsFor(r, c.types.at("oemdrv"), c, store,
                                    HelperPaths{"/usr/libexec/rec", "/usr/libexec/hook", "", true});
    EXPECT_EQ(withEnds.onSuccess, std::vector<std::string>{"imagebuild-end@h-3.service"});
    EXPECT_EQ(withEnds.onFailure, std::vector<std::string>{"imagebuild-end-failed@h-3.service"});
    EXPECT_EQ(u.workingDirectory, dir + "/work");
    EXPECT_EQ(u.logExtraFields,
              (std::vector<std::string>{"IMAGEBUILD_ID=h-3", "IMAGEBUILD_TYPE=oemdrv",
                                        "IMAGEBUILD_ARCH=x86_64", "IMAGEBUILD_RELEASE=40",
                                        "IMAGEBUILD_ATTEMPT=1"}));
    // Its own journald rate limit, far above what journald can store in
    // 30 s: a build's burst of output is never dropped.
    EXPECT_EQ(u.logRateLimitIntervalUSec, 30'000'000u);
    EXPECT_EQ(u.logRateLimitBurst, 100'000'000u);
    EXPECT_NE(
        std::find(u.environment.begin(), u.environment.end(), "IMAGEBUILD_OUTDIR=" + dir + "/out"),
        u.environment.end());
    EXPECT_EQ(u.runtimeMaxUSec, 5'000'000u);
    EXPECT_EQ(u.memoryMax, std::uint64_t{1} << 30);
    EXPECT_EQ(u.cpuQuotaPerSecUSec, 1'500'000u);
    EXPECT_EQ(u.tasksMax, 64u);
    ASSERT_TRUE(u.sandbox);
    EXPECT_EQ(u.sandbox->level, Sandbox::kStrict);
    EXPECT_FALSE(u.sandbox->network);
    EXPECT_EQ(u.sandbox->user, "imagebuild-build");
    EXPECT_EQ(u.sandbox->hiddenDir, dir_.string());
    EXPECT_EQ(u.sandbox->writable, (std::vector<std::string>{dir + "/out", dir + "/work"}));
    EXPECT_EQ(u.sandbox->buildDir, dir);
    EXPECT_EQ(u.sandbox->secrets.size(), 1u);
    EXPECT_EQ(u.sandbox->secrets[0].rfind("-/", 0), 0u);  // '-': fine if it does not exist
    ASSERT_EQ(u.sandbox->handOver.size(), 4u);
    EXPECT_EQ(u.sandbox->handOver[1], "imagebuild-build:imagebuild-build");
    EXPECT_EQ(u.sandbox->handOver[2], dir + "/out");
}

// The properties a strict unit is started with: an unprivileged user, no
// capabilities, the network only when the type asks.
std::map<std::string, int> countOf(const std::vector<UnitProperty>& p) {
    std::map<std::string, int> n;
    for (const auto& property : p) {
        ++n[std::get<0>(property)];
    }
    return n;
}

TEST_F(UnitSettingsTest, StrictAndRootProfiles) {
    Config c = parseConfig(
        "[type.s]\ncommand = echo\n[type.n]\ncommand = echo\nnetwork = yes\n"
        "[type.r]\ncommand = echo\nsandbox = none\nnetwork = yes\n",
        "t.conf");
    StateStore store(dir_);
    auto strict = countOf(sandboxProperties(buildSandboxFor(c.types.at("s"), store, "h-1")));
    for (const char* name : {"User", "CapabilityBoundingSet", "NoNewPrivileges", "PrivateDevices",
                             "PrivateUsers", "MemoryDenyWriteExecute", "RestrictNamespaces",
                             "InaccessiblePaths", "TemporaryFileSystem", "BindPaths",
                             "ReadOnlyPaths", "ReadWritePaths", "ExecStartPreEx"}) {
        EXPECT_EQ(strict[name], 1) << name;
    }
    EXPECT_EQ(strict["SystemCallFilter"], 2);  // the allow-list, then ~@privileged @resources
    auto networked = countOf(sandboxProperties(buildSandboxFor(c.types.at("n"), store, "h-1")));
    EXPECT_EQ(networked["RestrictAddressFamilies"], 1);
    auto root = countOf(sandboxProperties(buildSandboxFor(c.types.at("r"), store, "h-1")));
    for (const char* name : {"User", "PrivateDevices", "NoNewPrivileges", "ExecStartPreEx",
                             "MemoryDenyWriteExecute"}) {
        EXPECT_EQ(root[name], 0) << name;
    }
    for (const char* name : {"CapabilityBoundingSet", "InaccessiblePaths", "TemporaryFileSystem",
                             "ProtectKernelModules", "SystemCallFilter"}) {
        EXPECT_EQ(root[name], 1) << name;
    }
}

TEST_F(UnitSettingsTest, NameDefaultsToIdAndMissingProgramIsAnError) {
    Config c = parseConfig(
        "[type.t]\ncommand = echo {name}\nsandbox = none\n"
        "[type.gone]\ncommand = no-such-program-xyz\n",
        "t.conf");
    StateStore store(dir_);
    BuildRecord r;
    r.id = "h-4";
    r.spec.type = "t";
    HelperPaths helpers{"/rec", "", ""};
    auto u = unitSettingsFor(r, c.types.at("t"), c, store, helpers);
    EXPECT_TRUE(u.execStopPostAfter.empty());
    EXPECT_TRUE(u.onSuccess.empty());  // no imagebuild-end@ templates installed
    EXPECT_TRUE(u.onFailure.empty());
    EXPECT_EQ(u.execStart.back(), "h-4");
    ASSERT_TRUE(u.sandbox);
    EXPECT_EQ(u.sandbox->level, Sandbox::kNone);
    EXPECT_TRUE(u.sandbox->user.empty());
    EXPECT_TRUE(u.sandbox->handOver.empty());
    EXPECT_FALSE(u.memoryMax.has_value());
    EXPECT_THROW(unitSettingsFor(r, c.types.at("gone"), c, store, helpers), std::runtime_error);
    auto mail = mailUnitSettingsFor(r, store, HelperPaths{"/rec", "/hook", ""});
    EXPECT_EQ(mail.unitName, "imagebuild-h-4-mail.service");
    EXPECT_EQ(mail.execStart,
              (std::vector<std::string>{"/hook", "submitted", (dir_ / "builds/h-4").string()}));
    auto hook = webhookUnitSettingsFor(r, "running", "http://ci/h", "/b/webhook-running.json",
                                       store, HelperPaths{"/rec", "/hook", "/wh"});
    EXPECT_EQ(hook.unitName, "imagebuild-webhook-h-4-running.service");
    EXPECT_EQ(hook.slice, "imagebuild.slice");
    EXPECT_EQ(hook.execStart,
              (std::vector<std::string>{"/wh", "http://ci/h", "/b/webhook-running.json"}));
    EXPECT_EQ(hook.logExtraFields, (std::vector<std::string>{"IMAGEBUILD_ID=h-4"}));
    EXPECT_NE(hook.runtimeMaxUSec, 0u);
}

// The units around a build: confined too, the webhook to no capabilities and
// a read-only system, the mail to what a sendmail needs; neither sees the
// forwarder's secrets.
TEST_F(UnitSettingsTest, MailAndWebhookUnitsAreConfined) {
    StateStore store(dir_);
    BuildRecord r;
    r.id = "h-5";
    HelperPaths helpers{"/rec", "/hook", "/wh"};
    auto webhook = webhookUnitSettingsFor(r, "running", "http://ci/h", "/b/w.json", store, helpers);
    ASSERT_TRUE(webhook.helperSandbox);
    EXPECT_FALSE(webhook.sandbox);
    auto dir = (dir_ / "builds/h-5").string();
    EXPECT_EQ(webhook.helperSandbox->buildDir, dir);
    EXPECT_EQ(webhook.helperSandbox->hiddenDir, dir_.string());
    for (const auto& secret : webhook.helperSandbox->secrets) {
        EXPECT_EQ(secret.rfind("-/", 0), 0u) << secret;  // '-': fine if it does not exist
    }
    EXPECT_EQ(webhook.helperSandbox->secrets.size(), 2u);
    auto w = countOf(helperSandboxProperties(*webhook.helperSandbox));
    for (const char* name :
         {"CapabilityBoundingSet", "NoNewPrivileges", "ProtectSystem", "TemporaryFileSystem",
          "BindPaths", "ReadWritePaths", "InaccessiblePaths", "PrivateDevices",
          "MemoryDenyWriteExecute", "RestrictAddressFamilies", "RestrictNamespaces"}) {
        EXPECT_EQ(w[name], 1) << name;
    }
    EXPECT_EQ(w["SystemCallFilter"], 2);  // the allow-list, then ~@privileged @resources
    for (const auto& u :
         {mailUnitSettingsFor(r, store, helpers), endOfBuildUnitSettingsFor(r, store, helpers)}) {
        ASSERT_TRUE(u.helperSandbox) << u.unitName;
        auto m = countOf(helperSandboxProperties(*u.helperSandbox));
        for (const char* name : {"CapabilityBoundingSet", "ProtectSystem", "InaccessiblePaths",
                                 "PrivateDevices", "SystemCallFilter", "RestrictAddressFamilies"}) {
            EXPECT_EQ(m[name], 1) << u.unitName << " " << name;
        }
        // set-uid and set-gid sendmails, spools anywhere under /var
        for (const char* name :
             {"NoNewPrivileges", "TemporaryFileSystem", "MemoryDenyWriteExecute"}) {
            EXPECT_EQ(m[name], 0) << u.unitName << " " << name;
        }
    }
}
