// The JSON body of POST /v1/builds read into a build spec: types checked,
// unknown keys named, the webhook passed on.
#include "forwarder/submit_spec.hpp"

#include <gtest/gtest.h>

using namespace imagebuild;
using namespace imagebuild::forwarder;

namespace {

std::string bodyError(const std::string& body) {
    try {
        parseSubmitBody(body);
    } catch (const SpecError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(ForwarderSubmitSpec, TypesAreChecked) {
    const std::string head = R"({"type":"boot","arch":"x","release":"r","kickstart":"k",)";
    EXPECT_EQ(bodyError(head + R"("timeout_sec":-1})"),
              "'timeout_sec' must be a non-negative integer");
    EXPECT_EQ(bodyError(head + R"("labels":{"a":1}})"), "label 'a' must be a string");
    EXPECT_EQ(bodyError(head + R"("labels":[]})"), "'labels' must be an object of strings");
    EXPECT_EQ(bodyError(head + R"("notify":["a@b",2]})"), "'notify' must be an array of strings");
    EXPECT_EQ(bodyError(head + R"("name":7})"), "'name' must be a string");
    EXPECT_EQ(bodyError(R"({"type":"","arch":"x","release":"r","kickstart":"k"})"),
              "'type' must be a non-empty string");
    EXPECT_EQ(bodyError(head + R"("colour":1})"),
              "unknown key 'colour' (allowed: type, arch, release, kickstart, name, notify, "
              "timeout_sec, labels, webhook, priority, repos, updates, updates_testing)");
    EXPECT_EQ(bodyError("[1]"), "the body must be a JSON object");
    EXPECT_EQ(bodyError("{"), "the body is not valid JSON");
}

TEST(ForwarderSubmitSpec, WebhookIsPassedToTheAgent) {
    auto spec = parseSubmitBody(R"({"type":"boot","arch":"x","release":"r","kickstart":"k",)"
                                R"("webhook":"http://ci:8080/hook"})");
    auto dbus = specToVariants(spec);
    ASSERT_EQ(dbus.count("webhook"), 1u);
    EXPECT_EQ(dbus.at("webhook").get<std::string>(), "http://ci:8080/hook");
    EXPECT_THROW(parseSubmitBody(R"({"type":"boot","arch":"x","release":"r","kickstart":"k",)"
                                 R"("webhook":1})"),
                 SpecError);
}
