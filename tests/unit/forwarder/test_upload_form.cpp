// Upload forms (multipart fields) turned into the build spec and its JSON.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/build_spec.hpp"
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

// What an anonymous file holds, from offset 0.
std::string contentOf(const sdbus::UnixFd& fd) {
    std::string out(1 << 16, '\0');
    auto n = pread(fd.get(), out.data(), out.size(), 0);
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
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
           "label, webhook, kickstart, kickstart_file, kickstart_main, rpm, spec)");
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

// Side RPMs as `rpm` files: anonymous sealed files for the agent, and the
// peer is sent the spec as a `spec` part with the same files.
TEST(UploadForm, RpmFilesBecomeSealedAnonymousFiles) {
    auto form = baseForm();
    form.push_back(field("kickstart", "lang C\n"));
    form.push_back(field("rpm", std::string("\xed\xab\xee\xdb\0one", 8), "one.rpm"));
    form.push_back(field("rpm", "two", "two.rpm"));
    auto parsed = specFromForm(form, ForwarderConfig{});
    ASSERT_EQ(parsed.spec.rpms.size(), 2u);
    const auto& one = parsed.spec.rpms.at("one.rpm");
    EXPECT_EQ(contentOf(one), std::string("\xed\xab\xee\xdb\0one", 8));
    EXPECT_EQ(contentOf(parsed.spec.rpms.at("two.rpm")), "two");
    int seals = fcntl(one.get(), F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK),
              F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
    EXPECT_LT(write(one.get(), "x", 1), 0);  // sealed: what was uploaded stays
    EXPECT_EQ(parsed.contentType.rfind("multipart/form-data; boundary=", 0), 0u);
    EXPECT_NE(parsed.body.find("name=\"spec\""), std::string::npos);
    EXPECT_NE(parsed.body.find("\"kickstart\":\"lang C\\n\""), std::string::npos);
    EXPECT_EQ(parsed.body.find("\"rpms\""), std::string::npos);  // the files are the parts
    EXPECT_NE(parsed.body.find("name=\"rpm\"; filename=\"two.rpm\""), std::string::npos);
    EXPECT_NE(parsed.body.find(std::string("\xed\xab\xee\xdb\0one", 8)), std::string::npos);
}

TEST(UploadForm, WithoutRpmsAPeerIsSentJson) {
    auto form = baseForm();
    form.push_back(field("kickstart", "lang C\n"));
    form.push_back(field("rpm", "", ""));  // a file input left empty
    auto parsed = specFromForm(form, ForwarderConfig{});
    EXPECT_TRUE(parsed.spec.rpms.empty());
    EXPECT_EQ(parsed.contentType, "application/json");
    EXPECT_EQ(json::parse(parsed.body)["kickstart"], "lang C\n");
}

// `spec`: every key of a JSON body (here priority and repos, which have no
// form field), with the files.
TEST(UploadForm, SpecFieldCarriesTheJsonKeys) {
    json body{{"type", "boot"},   {"arch", "x86_64"},
              {"release", "f40"}, {"kickstart", "lang C\n"},
              {"priority", 5},    {"repos", {{"extra", "https://example.org/repo/"}}},
              {"updates", true}};
    std::vector<FormField> form{field("spec", body.dump()), field("rpm", "x", "x.rpm")};
    auto parsed = specFromForm(form, ForwarderConfig{});
    EXPECT_EQ(parsed.spec.priority, 5);
    EXPECT_EQ(parsed.spec.repos.at("extra"), "https://example.org/repo/");
    EXPECT_TRUE(parsed.spec.updates);
    EXPECT_EQ(parsed.spec.kickstart, "lang C\n");
    EXPECT_EQ(contentOf(parsed.spec.rpms.at("x.rpm")), "x");
    // What a peer is sent reads back the same.
    auto specPart = parsed.body.find("\r\n\r\n{");
    ASSERT_NE(specPart, std::string::npos);
    auto sent = json::parse(
        parsed.body.substr(specPart + 4, parsed.body.find("\r\n--", specPart) - specPart - 4));
    EXPECT_EQ(sent["priority"], 5);
    EXPECT_EQ(sent["repos"], body["repos"]);
}

TEST(UploadForm, BadRpmFormsAreRefusedByName) {
    auto refuse = [](std::vector<FormField> form, const std::string& needle) {
        expectUploadError([&] { specFromForm(form, ForwarderConfig{}); }, 400, "InvalidSpec",
                          needle);
    };
    auto form = baseForm();
    form.push_back(field("kickstart", "lang C\n"));
    auto with = [&](std::vector<FormField> extra) {
        auto f = form;
        f.insert(f.end(), extra.begin(), extra.end());
        return f;
    };
    refuse(with({field("rpm", "text")}), "'rpm' must be a file");
    refuse(with({field("rpm", "a", "same.rpm"), field("rpm", "b", "same.rpm")}),
           "two 'rpm' files are named \"same.rpm\"");
    std::vector<FormField> many;
    for (std::size_t i = 0; i <= imagebuild::kMaxSideRpms; ++i) {
        many.push_back(field("rpm", "x", std::to_string(i) + ".rpm"));
    }
    refuse(with(many), "spec field 'rpms' has 65 files; at most 64");
    json body{{"type", "boot"}, {"arch", "x86_64"}, {"release", "f40"}, {"kickstart", "x"}};
    refuse({field("spec", body.dump()), field("arch", "aarch64")},
           "'spec' holds the whole spec; 'arch' cannot be given with it");
    refuse({field("spec", "{")}, "'spec': the body is not valid JSON");
    body["rpms"] = json::array({"a.rpm"});
    refuse({field("spec", body.dump())}, "'rpm' parts");
    refuse({field("spec", body.dump()), field("spec", body.dump())}, "'spec' is given twice");
}
