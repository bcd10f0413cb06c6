#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/dbus_names.hpp"
#include "common/exit_codes.hpp"
#include "ctl/error_map.hpp"

using namespace imagebuild;
using namespace imagebuild::ctl;
namespace names = imagebuild::dbus_names::error;
using ::testing::HasSubstr;

TEST(CtlErrorMap, ImagebuildErrorsGetTheirExitCodes) {
    EXPECT_EQ(mapDbusError(names::kInvalidSpec, "x").exitCode, kExitUsage);
    EXPECT_EQ(mapDbusError(names::kUnsupported, "x").exitCode, kExitUsage);
    EXPECT_EQ(mapDbusError(names::kNotFound, "x").exitCode, kExitNotFound);
    EXPECT_EQ(mapDbusError(names::kAccessDenied, "x").exitCode, kExitAccessDenied);
    EXPECT_EQ(mapDbusError(names::kQueueFull, "x").exitCode, kExitFailure);
    EXPECT_EQ(mapDbusError(names::kAlreadyFinished, "x").exitCode, kExitFailure);
    EXPECT_EQ(mapDbusError(names::kInternal, "x").exitCode, kExitFailure);
    EXPECT_EQ(mapDbusError(names::kNoSpace, "x").exitCode, kExitNoSpace);
    EXPECT_EQ(mapDbusError(names::kConfigInvalid, "x").exitCode, kExitConfigInvalid);
    // Documented in imagebuildctl(1): scripts test these numbers.
    EXPECT_EQ(kExitNoSpace, 8);
    EXPECT_EQ(kExitConfigInvalid, 9);
}

TEST(CtlErrorMap, FullDiskAndBrokenConfigKeepTheAgentsFigures) {
    auto full =
        mapDbusError(names::kNoSpace, "not enough free space on /var: 1.0M free, 2.0G needed");
    EXPECT_EQ(full.message,
              "The build host is out of disk space: not enough free space on /var: 1.0M free, "
              "2.0G needed");
    auto config = mapDbusError(names::kConfigInvalid, "/etc/imagebuild/imagebuild.conf:3: oops");
    EXPECT_THAT(config.message, HasSubstr("/etc/imagebuild/imagebuild.conf:3: oops"));
    auto http = mapHttpError(507, "NoSpace", "0 B free on /var/lib/imagebuild", "http://x");
    EXPECT_EQ(http.exitCode, kExitNoSpace);
    EXPECT_THAT(http.message, HasSubstr("0 B free on /var/lib/imagebuild"));
    auto sick = mapHttpError(503, "ConfigInvalid", "imagebuild.conf:9: bad", "http://x");
    EXPECT_EQ(sick.exitCode, kExitConfigInvalid);
    EXPECT_THAT(sick.message, HasSubstr("imagebuild.conf:9: bad"));
}

TEST(CtlErrorMap, SentenceKeepsTheAgentsMessage) {
    auto mapped = mapDbusError(names::kInvalidSpec, "arch 'sparc': allowed: x86_64, aarch64");
    EXPECT_EQ(mapped.message,
              "The build request is invalid: arch 'sparc': allowed: x86_64, aarch64");
    EXPECT_EQ(mapDbusError(names::kNotFound, "").message, "No such build");
}

TEST(CtlErrorMap, AgentNotRunningIsUnreachable) {
    for (const char* name :
         {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
          "org.freedesktop.DBus.Error.NoReply"}) {
        auto mapped = mapDbusError(name, "whatever");
        EXPECT_EQ(mapped.exitCode, kExitUnreachable) << name;
        EXPECT_THAT(mapped.message, HasSubstr("agent")) << name;
    }
    EXPECT_EQ(mapDbusError("org.freedesktop.systemd1.UnitMasked", "masked").exitCode,
              kExitUnreachable);
    auto bus = mapDbusError("org.sdbuscpp.Error", "Failed to open system bus");
    EXPECT_EQ(bus.exitCode, kExitUnreachable);
    EXPECT_THAT(bus.message, HasSubstr("system bus"));
}

TEST(CtlErrorMap, PolkitAndPolicyDenialsAreAccessDenied) {
    EXPECT_EQ(mapDbusError("org.freedesktop.DBus.Error.AccessDenied", "").exitCode,
              kExitAccessDenied);
    EXPECT_EQ(
        mapDbusError("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "").exitCode,
        kExitAccessDenied);
}

TEST(CtlErrorMap, UnknownNamesStayNamed) {
    auto mapped = mapDbusError("com.example.Weird", "boom");
    EXPECT_EQ(mapped.exitCode, kExitFailure);
    EXPECT_THAT(mapped.message, HasSubstr("com.example.Weird"));
    EXPECT_THAT(mapped.message, HasSubstr("boom"));
}

TEST(CtlErrorMap, HttpStatusesMapToExitCodes) {
    const std::string url = "http://b:8080";
    EXPECT_EQ(mapHttpError(400, "bad_request", "type missing", url).exitCode, kExitUsage);
    EXPECT_EQ(mapHttpError(422, "", "", url).exitCode, kExitUsage);
    EXPECT_EQ(mapHttpError(413, "", "", url).exitCode, kExitUsage);
    EXPECT_EQ(mapHttpError(401, "", "", url).exitCode, kExitAccessDenied);
    EXPECT_EQ(mapHttpError(403, "", "", url).exitCode, kExitAccessDenied);
    EXPECT_EQ(mapHttpError(404, "", "", url).exitCode, kExitNotFound);
    EXPECT_EQ(mapHttpError(409, "", "", url).exitCode, kExitFailure);
    EXPECT_EQ(mapHttpError(503, "", "host b down", url).exitCode, kExitUnreachable);
    EXPECT_EQ(mapHttpError(500, "", "", url).exitCode, kExitFailure);
    EXPECT_THAT(mapHttpError(401, "", "", url).message, HasSubstr("--token-file"));
    EXPECT_THAT(mapHttpError(500, "", "", url).message, HasSubstr("HTTP 500"));
}

TEST(CtlErrorMap, HttpErrorNamesDecideTheExitStatusAsOnTheBus) {
    // 503 alone is a host out of reach; a full queue is not.
    auto full = mapHttpError(503, "QueueFull", "2 builds are queued already", "http://x");
    EXPECT_EQ(full.exitCode, kExitFailure);
    EXPECT_EQ(full.message,
              "The build queue of this host is full; try again later: 2 builds are queued already");
    auto slow = mapHttpError(504, "AgentTimeout", "no reply", "http://x");
    EXPECT_EQ(slow.exitCode, kExitUnreachable);
    EXPECT_THAT(slow.message, HasSubstr("did not answer in time"));
}

TEST(CtlErrorMap, HttpStatusSentenceStaysWhenTheNameAgrees) {
    auto mapped = mapHttpError(404, "NotFound", "no build h-9", "http://x");
    EXPECT_EQ(mapped.exitCode, kExitNotFound);
    EXPECT_EQ(mapped.message, "Not found: no build h-9");
    auto down = mapHttpError(503, "AgentUnavailable", "no agent", "http://x");
    EXPECT_EQ(down.exitCode, kExitUnreachable);
    EXPECT_THAT(down.message, HasSubstr("http://x is not reachable"));
}
