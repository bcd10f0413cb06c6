// The D-Bus error table as the forwarder answers it: the HTTP status of each
// agent error, and the JSON body that carries its name and message.
#include "forwarder/dbus_errors.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <nlohmann/json.hpp>

#include "common/dbus_names.hpp"
#include "tests/unit/forwarder/http_testing.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using json = nlohmann::json;
using imagebuild::testing::expectError;

TEST(ForwarderJsonErrors, DbusErrorTable) {
    namespace e = dbus_names::error;
    EXPECT_EQ(statusForDbusError(e::kNotFound), 404u);
    EXPECT_EQ(statusForDbusError(e::kInvalidSpec), 400u);
    EXPECT_EQ(statusForDbusError(e::kUnsupported), 422u);
    EXPECT_EQ(statusForDbusError(e::kAccessDenied), 403u);
    EXPECT_EQ(statusForDbusError(e::kQueueFull), 503u);
    EXPECT_EQ(statusForDbusError(e::kAlreadyFinished), 409u);
    EXPECT_EQ(statusForDbusError(e::kInternal), 500u);
    EXPECT_EQ(statusForDbusError(e::kNoSpace), 507u);
    EXPECT_EQ(statusForDbusError(e::kConfigInvalid), 503u);
    EXPECT_EQ(statusForDbusError("org.example.Whatever"), 500u);
    expectError(responseForDbusError(sdbus::Error(e::kNoSpace, "0 B free on /var")), 507,
                "NoSpace");
    auto r = responseForDbusError(sdbus::Error(e::kInvalidSpec, "'arch' must be one of x"));
    expectError(r, 400, "InvalidSpec");
    EXPECT_EQ(json::parse(r.body)["message"], "'arch' must be one of x");
}
