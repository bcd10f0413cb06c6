// Upload forms (multipart fields) turned into the build spec and its JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "forwarder/config.hpp"
#include "forwarder/upload_form.hpp"
#include "tests/unit/forwarder/upload_testing.hpp"

using namespace imagebuild::forwarder;
using namespace imagebuild::testing;
using json = nlohmann::json;

namespace {

FormField field(std::string name, std::string value, std::string filename = "") {
    return FormField{std::move(name), std::move(filename), std::move(value)};
}

std::vector<FormField> baseForm() {
    return {field("type", "boot"), field("arch", "x86_64"), field("release", "f40")};
}

}  // namespace

TEST(UploadForm, FieldsBecomeTheSpecAndItsJson) {
    auto form = baseForm();
    form.push_back(field("name", "nightly"));
    form.push_back(field("notify", "a@example.org"));
    form.push_back(field("notify", "b@example.org"));
    form.push_back(field("label", "team=qa"));
    form.push_back(field("label", "ticket=a=b"));
    form.push_back(field("timeout_sec", "600"));
    form.push_back(field("webhook", ""));  // blank: absent
    form.push_back(field("kickstart_main", "main.ks"));
    form.push_back(field("kickstart_file", makeTar({{"main.ks", kBase}, {"parts/repo.ks", kRepo}}),
                         "tree.tar"));
    auto parsed = specFromForm(form, ForwarderConfig{});
    EXPECT_EQ(parsed.spec.type, "boot");
    EXPECT_EQ(parsed.spec.labels.at("ticket"), "a=b");
    EXPECT_EQ(parsed.spec.timeoutSec, 600u);
    auto spec = json::parse(parsed.body);
    EXPECT_EQ(spec["type"], "boot");
    EXPECT_EQ(spec["name"], "nightly");
    EXPECT_EQ(spec["notify"], json::array({"a@example.org", "b@example.org"}));
    EXPECT_EQ(spec["labels"], (json{{"team", "qa"}, {"ticket", "a=b"}}));
    EXPECT_EQ(spec["timeout_sec"], 600);
    EXPECT_FALSE(spec.contains("webhook"));
    EXPECT_EQ(spec["kickstart"], "lang en_US.UTF-8\n" + kRepo);
}

TEST(UploadForm, PastedTextAndWebhookPassThrough) {
    auto form = baseForm();
    form.push_back(field("kickstart", "lang C\n"));
    form.push_back(field("webhook", "http://hooks.example/x"));
    form.push_back(field("kickstart_file", "", ""));  // a file input left empty
    auto spec = json::parse(specFromForm(form, ForwarderConfig{}).body);
    EXPECT_EQ(spec["kickstart"], "lang C\n");
    EXPECT_EQ(spec["webhook"], "http://hooks.example/x");
    // Checked by the rules every spec follows, in the agent's words.
    form[form.size() - 2] = field("webhook", "https://hooks.example/x");
    expectUploadError([&] { specFromForm(form, ForwarderConfig{}); }, 400, "InvalidSpec",
                      "spec field 'webhook' is not a usable URL");
}

TEST(UploadForm, BadFormsNameTheField) {
    auto refuse = [](std::vector<FormField> form, const std::string& needle,
                     unsigned status = 400) {
        expectUploadError([&] { specFromForm(form, ForwarderConfig{}); }, status,
                          status == 413 ? "PayloadTooLarge" : "InvalidSpec", needle);
    };
    refuse({field("type", "boot"), field("release", "f40"), field("kickstart", "x")},
           "'arch' is required");
    refuse(baseForm(), "'kickstart' (text) or 'kickstart_file'");
    auto form = baseForm();
    form.push_back(field("kickstart", "x"));
    auto with = [&](FormField extra) {
        auto f = form;
        f.push_back(std::move(extra));
        return f;
    };
    refuse(with(field("colour", "red")),
           "unknown field 'colour' (allowed: type, arch, release, name, notify, timeout_sec, "
           "label, webhook, kickstart, kickstart_file, kickstart_main)");
    refuse(with(field("arch", "aarch64")), "'arch' is given twice");
    refuse(with(field("label", "novalue")), "label 'novalue' must be KEY=VALUE");
    refuse(with(field("timeout_sec", "-5")), "'timeout_sec' must be a non-negative integer");
    refuse(with(field("kickstart_file", "lang C\n", "ks.cfg")), "not both");
    refuse(with(field("kickstart_main", "ks.cfg")), "'kickstart_main'");
    ForwarderConfig small;
    small.maxBodyBytes = 100;
    auto big = baseForm();
    big.push_back(field("kickstart", "lang C\n" + std::string(200, '#') + "\n"));
    expectUploadError([&] { specFromForm(big, small); }, 400, kInvalidKickstart, "");
}
