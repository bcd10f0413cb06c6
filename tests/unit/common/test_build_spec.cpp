#include "common/build_spec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/unit/read_doc.hpp"

using imagebuild::BuildSpec;
using imagebuild::SpecError;
using imagebuild::specFromJson;
using imagebuild::specFromVariants;
using Spec = std::map<std::string, sdbus::Variant>;

namespace {

Spec good() {
    return {{"type", sdbus::Variant(std::string("oemdrv"))},
            {"arch", sdbus::Variant(std::string("x86_64"))},
            {"release", sdbus::Variant(std::string("40"))},
            {"kickstart", sdbus::Variant(std::string("lang en_US.UTF-8\n"))}};
}

// The field and message of the SpecError for spec.
std::pair<std::string, std::string> errorOf(const Spec& spec) {
    try {
        specFromVariants(spec);
    } catch (const SpecError& e) {
        return {e.field(), e.what()};
    }
    return {"", "(no error)"};
}

Spec with(const std::string& key, sdbus::Variant value) {
    auto s = good();
    s[key] = std::move(value);
    return s;
}

}  // namespace

TEST(BuildSpec, AcceptsAFullSpec) {
    auto s = good();
    s["name"] = sdbus::Variant(std::string("nightly-1"));
    s["notify"] = sdbus::Variant(std::vector<std::string>{"a@example.org"});
    s["timeout_sec"] = sdbus::Variant(std::uint64_t{3600});
    s["labels"] = sdbus::Variant(std::map<std::string, std::string>{{"team", "qa"}});
    BuildSpec b = specFromVariants(s);
    EXPECT_EQ(b.type, "oemdrv");
    EXPECT_EQ(b.name, "nightly-1");
    EXPECT_EQ(b.notify, std::vector<std::string>{"a@example.org"});
    EXPECT_EQ(b.timeoutSec, 3600u);
    EXPECT_EQ(b.labels.at("team"), "qa");
}

TEST(BuildSpec, MissingRequiredFieldIsNamed) {
    for (const char* key : {"type", "arch", "release", "kickstart"}) {
        auto s = good();
        s.erase(key);
        auto [field, message] = errorOf(s);
        EXPECT_EQ(field, key);
        EXPECT_EQ(message, std::string("spec field '") + key +
                               "' is missing; required: type, arch, release, kickstart");
    }
}

TEST(BuildSpec, UnknownKeyListsTheAllowedOnes) {
    auto [field, message] = errorOf(with("colour", sdbus::Variant(std::string("red"))));
    EXPECT_EQ(field, "colour");
    EXPECT_EQ(message,
              "unknown spec field 'colour'; allowed fields: type, arch, release, "
              "kickstart, name, notify, timeout_sec, labels, webhook, submitter, priority, "
              "repos, updates, updates_testing, rpms");
}

TEST(BuildSpec, WrongTypesNameFieldAndSignature) {
    EXPECT_EQ(errorOf(with("arch", sdbus::Variant(std::uint32_t{7}))).second,
              "spec field 'arch' must be of D-Bus type 's', got 'u'");
    EXPECT_EQ(errorOf(with("notify", sdbus::Variant(std::string("a@b")))).second,
              "spec field 'notify' must be of D-Bus type 'as', got 's'");
    EXPECT_EQ(errorOf(with("timeout_sec", sdbus::Variant(std::int32_t{5}))).second,
              "spec field 'timeout_sec' must be of D-Bus type 't', got 'i'");
    EXPECT_EQ(errorOf(with("labels", sdbus::Variant(std::vector<std::string>{}))).second,
              "spec field 'labels' must be of D-Bus type 'a{ss}', got 'as'");
    EXPECT_EQ(errorOf(with("kickstart", sdbus::Variant(std::vector<std::uint8_t>{0xff}))).first,
              "kickstart");
}

TEST(BuildSpec, BadValuesNameTheFieldAndWhatIsAllowed) {
    EXPECT_EQ(errorOf(with("type", sdbus::Variant(std::string("../x")))).second,
              "spec field 'type' must be 1 to 32 characters of letters, digits, '.', '_' and '-' "
              "(not starting with '.' or '-'), not \"../x\"");
    EXPECT_EQ(errorOf(with("release", sdbus::Variant(std::string("")))).first, "release");
    EXPECT_EQ(errorOf(with("name", sdbus::Variant(std::string("a/b")))).first, "name");
    EXPECT_EQ(errorOf(with("notify", sdbus::Variant(std::vector<std::string>{"nobody"}))).second,
              "spec field 'notify' holds \"nobody\", which is not an e-mail address (user@domain)");
    EXPECT_EQ(errorOf(with("timeout_sec", sdbus::Variant(std::uint64_t{604801}))).second,
              "spec field 'timeout_sec' is 604801; allowed: 1 to 604800 (or 0 for the host's "
              "default)");
    EXPECT_EQ(errorOf(with("labels",
                           sdbus::Variant(std::map<std::string, std::string>{{"bad key", "v"}})))
                  .first,
              "labels");
}

TEST(BuildSpec, KickstartIsSizeLimitedUtf8Text) {
    EXPECT_EQ(errorOf(with("kickstart", sdbus::Variant(std::string("")))).second,
              "spec field 'kickstart' is empty; it must hold the flattened kickstart text");
    std::string big(imagebuild::kMaxKickstartBytes + 1, 'x');
    EXPECT_EQ(errorOf(with("kickstart", sdbus::Variant(big))).second,
              "spec field 'kickstart' is 1048577 bytes; at most 1048576 bytes are accepted");
    big.pop_back();
    EXPECT_NO_THROW(specFromVariants(with("kickstart", sdbus::Variant(big))));
    // D-Bus strings are UTF-8 by the protocol; JSON input is checked here.
    nlohmann::json j = {{"type", "t"}, {"arch", "a"}, {"release", "r"}};
    j["kickstart"] = std::string("a\xff", 2);
    try {
        specFromJson(j);
        FAIL();
    } catch (const SpecError& e) {
        EXPECT_STREQ(e.what(), "spec field 'kickstart' is not valid UTF-8 text");
    }
    j["kickstart"] = std::string("a\0b", 3);
    EXPECT_THROW(specFromJson(j), SpecError);
}

TEST(BuildSpec, Utf8Validation) {
    EXPECT_TRUE(imagebuild::isValidUtf8("plain"));
    EXPECT_TRUE(imagebuild::isValidUtf8("Gr\xc3\xbc\xc3\x9f\x65 \xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_FALSE(imagebuild::isValidUtf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(imagebuild::isValidUtf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(imagebuild::isValidUtf8("\xe2\x82"));          // truncated
    EXPECT_FALSE(imagebuild::isValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(BuildSpec, JsonFollowsTheSameRules) {
    auto j = nlohmann::json::parse(
        R"({"type":"oemdrv","arch":"x86_64","release":"40","kickstart":"text\n",
            "notify":["a@b.org"],"timeout_sec":10,"labels":{"k":"v"}})");
    BuildSpec b = specFromJson(j);
    EXPECT_EQ(b.kickstart, "text\n");
    EXPECT_EQ(b.timeoutSec, 10u);
    auto bad = j;
    bad["timeout_sec"] = -1;
    EXPECT_THROW(specFromJson(bad), SpecError);
    bad = j;
    bad["arch"] = 5;
    try {
        specFromJson(bad);
        FAIL();
    } catch (const SpecError& e) {
        EXPECT_STREQ(e.what(), "'arch' must be a non-empty string");
    }
    bad = j;
    bad["extra"] = true;
    EXPECT_THROW(specFromJson(bad), SpecError);
    EXPECT_THROW(specFromJson(nlohmann::json::array()), SpecError);
}

TEST(BuildSpec, SupportIsCheckedAgainstTheHost) {
    imagebuild::HostCapabilities host{{"oemdrv"}, {"x86_64"}, {"40"}};
    auto b = specFromVariants(good());
    EXPECT_NO_THROW(imagebuild::checkSupported(b, host));
    b.release = "39";
    try {
        imagebuild::checkSupported(b, host);
        FAIL();
    } catch (const imagebuild::UnsupportedError& e) {
        EXPECT_STREQ(e.what(), "this host does not build release '39'; it builds: 40");
    }
    host.releases.clear();  // any release
    EXPECT_NO_THROW(imagebuild::checkSupported(b, host));
    b.type = "dvd";
    EXPECT_THROW(imagebuild::checkSupported(b, host), imagebuild::UnsupportedError);
}

TEST(BuildSpec, WebhookIsAnHttpUrl) {
    auto s = specFromVariants(with("webhook", sdbus::Variant(std::string("http://ci:8080/hook"))));
    EXPECT_EQ(s.webhook, "http://ci:8080/hook");
    EXPECT_EQ(specFromVariants(good()).webhook, "");
    auto j = specFromJson({{"type", "oemdrv"},
                           {"arch", "x86_64"},
                           {"release", "40"},
                           {"kickstart", "lang en_US.UTF-8\n"},
                           {"webhook", "http://127.0.0.1/h"}});
    EXPECT_EQ(j.webhook, "http://127.0.0.1/h");
}

TEST(BuildSpec, BadWebhooksNameTheFieldAndWhatIsAllowed) {
    for (const char* url : {"https://ci/hook", "ftp://ci/", "ci:80/hook", "http://", "http://ci:0/",
                            "http://ci:99999/", "http://a b/", "http://u@ci/"}) {
        auto [field, message] = errorOf(with("webhook", sdbus::Variant(std::string(url))));
        EXPECT_EQ(field, "webhook") << url;
        EXPECT_NE(message.find("spec field 'webhook'"), std::string::npos) << message;
        EXPECT_NE(message.find("http://HOST[:PORT][/PATH]"), std::string::npos) << message;
    }
    auto [field, message] = errorOf(with("webhook", sdbus::Variant(std::string("https://ci/"))));
    EXPECT_NE(message.find("https is not supported"), std::string::npos) << message;
    auto wrongType = errorOf(with("webhook", sdbus::Variant(std::uint32_t{1})));
    EXPECT_EQ(wrongType.first, "webhook");
}

TEST(BuildSpec, SubmitterIsOptionalPrintableUtf8OfAtMost64Characters) {
    EXPECT_FALSE(specFromVariants(good()).submitter.has_value());
    EXPECT_EQ(specFromVariants(with("submitter", sdbus::Variant(std::string("alice")))).submitter,
              "alice");
    // 64 characters, 128 bytes: characters count, not bytes.
    std::string sixtyFour;
    for (int i = 0; i < 64; ++i) {
        sixtyFour += "\xc3\xa9";  // é
    }
    EXPECT_EQ(specFromVariants(with("submitter", sdbus::Variant(sixtyFour))).submitter, sixtyFour);
    EXPECT_EQ(
        specFromVariants(with("submitter", sdbus::Variant(std::string("Jane Doe (CI)")))).submitter,
        "Jane Doe (CI)");
    EXPECT_EQ(errorOf(with("submitter", sdbus::Variant(std::string()))).second,
              "spec field 'submitter' is empty; it must be 1 to 64 characters");
    EXPECT_EQ(errorOf(with("submitter", sdbus::Variant(std::string(65, 'a')))).second,
              "spec field 'submitter' is 65 characters long; at most 64 are allowed");
    // (The bus itself refuses strings that are not UTF-8 or hold NUL.)
    EXPECT_EQ(imagebuild::submitterNameProblem("bad\xff"), "is not valid UTF-8");
    EXPECT_NE(imagebuild::submitterNameProblem(std::string("nul\0x", 5)).find("control character"),
              std::string::npos);
    for (std::string bad : {std::string("a\nb"), std::string("tab\t"), std::string("del\x7f"),
                            std::string("c1\xc2\x85")}) {
        auto [field, message] = errorOf(with("submitter", sdbus::Variant(bad)));
        EXPECT_EQ(field, "submitter") << bad;
        EXPECT_NE(message.find("control character"), std::string::npos) << message;
    }
    EXPECT_EQ(errorOf(with("submitter", sdbus::Variant(std::uint32_t{0}))).second,
              "spec field 'submitter' must be of D-Bus type 's', got 'u'");
    // A POST /v1/builds body may not name it: the forwarder records its token's name.
    nlohmann::json body{{"type", "oemdrv"},
                        {"arch", "x86_64"},
                        {"release", "40"},
                        {"kickstart", "lang en_US.UTF-8\n"},
                        {"submitter", "alice"}};
    try {
        specFromJson(body);
        FAIL();
    } catch (const SpecError& e) {
        EXPECT_STREQ(e.what(), "'submitter' cannot be given: it is the name of the bearer token");
    }
    BuildSpec fromRecord;
    imagebuild::readSpecKeys(body, fromRecord);
    EXPECT_EQ(fromRecord.submitter, "alice");
    EXPECT_EQ(imagebuild::submitterNameProblem("alice"), "");
}

namespace {

// A value of every key of the table, none at its default (a key added to
// the table without one here fails KeysSurviveEveryShape).
Spec everyKey() {
    auto s = good();
    s["name"] = sdbus::Variant(std::string("nightly-1"));
    s["notify"] = sdbus::Variant(std::vector<std::string>{"a@example.org", "b@example.org"});
    s["timeout_sec"] = sdbus::Variant(std::uint64_t{3600});
    s["labels"] = sdbus::Variant(std::map<std::string, std::string>{{"team", "qa"}, {"t", "x=y"}});
    s["webhook"] = sdbus::Variant(std::string("http://ci:8080/hook"));
    s["submitter"] = sdbus::Variant(std::string("alice"));
    s["priority"] = sdbus::Variant(std::int32_t{-5});
    s["repos"] = sdbus::Variant(
        std::map<std::string, std::string>{{"extras", "https://example.org/extras/"}});
    s["updates"] = sdbus::Variant(true);
    s["updates_testing"] = sdbus::Variant(true);
    s["rpms"] = sdbus::Variant(
        std::map<std::string, sdbus::UnixFd>{{"foo.rpm", sdbus::UnixFd(STDIN_FILENO)}});
    return s;
}

// Open files travel over D-Bus only: JSON keeps their names, not them.
const std::string kDbusOnly = "rpms";

// The part of text from the first `from` to the next `to` after it.
std::string between(const std::string& text, const std::string& from, const std::string& to) {
    auto start = text.find(from);
    if (start == std::string::npos) {
        ADD_FAILURE() << "no " << from;
        return {};
    }
    return text.substr(start, text.find(to, start + from.size()) - start);
}

}  // namespace

// variants -> spec -> JSON -> spec -> variants, for every key of the table:
// each comes out with its type and value.
TEST(BuildSpec, KeysSurviveEveryShape) {
    auto in = everyKey();
    for (const auto& key : imagebuild::specKeys()) {
        ASSERT_EQ(in.count(key.name), 1u) << "no sample value of spec key " << key.name;
        EXPECT_EQ(in.at(key.name).peekValueType(), key.dbusType) << key.name;
    }
    EXPECT_EQ(in.size(), imagebuild::specKeys().size());
    auto spec = specFromVariants(in);
    EXPECT_EQ(imagebuild::specToVariants(spec).size(), in.size());
    auto json = imagebuild::specToJson(spec);
    EXPECT_EQ(json[kDbusOnly], nlohmann::json::array({"foo.rpm"}));
    json.erase(kDbusOnly);
    in.erase(kDbusOnly);
    BuildSpec back;
    imagebuild::readSpecKeys(json, back);
    imagebuild::validateSpec(back);
    auto out = imagebuild::specToVariants(back);
    ASSERT_EQ(out.size(), in.size());
    for (const auto& key : imagebuild::specKeys()) {
        if (key.name == kDbusOnly) {
            continue;
        }
        ASSERT_EQ(json.count(key.name), 1u) << key.name;
        ASSERT_EQ(out.count(key.name), 1u) << key.name;
        EXPECT_EQ(out.at(key.name).peekValueType(), key.dbusType) << key.name;
        // One key at a time: only it differs from the spec without it.
        auto alone = good();
        alone[key.name] = out.at(key.name);
        auto without = good();
        without.erase(key.name);
        if (!key.required) {
            EXPECT_NE(imagebuild::specToJson(specFromVariants(alone)),
                      imagebuild::specToJson(specFromVariants(without)))
                << key.name;
        }
        EXPECT_EQ(imagebuild::specToJson(specFromVariants(alone))[key.name], json[key.name])
            << key.name;
    }
    EXPECT_EQ(imagebuild::specToJson(specFromVariants(out)), json);
    // The HTTP body takes the same JSON, but for what a body may not set.
    auto body = json;
    for (const auto& key : imagebuild::specKeys()) {
        if (!key.inBody) {
            body.erase(key.name);
        }
    }
    auto fromBody = specFromJson(body);
    fromBody.submitter = spec.submitter;
    EXPECT_EQ(imagebuild::specToJson(fromBody), json);
}

TEST(BuildSpec, EveryKeyIsDocumented) {
    auto xml = between(readDoc("dbus/org.imagebuild.BuildManager1.xml"), "Submit a build.", "-->");
    auto reference =
        between(readDoc("docs/org.imagebuild.BuildManager1.md"), "### Submit(", "\n### ");
    auto http = between(readDoc("docs/imagebuild-forwarder.md"), "### POST /v1/builds", "\n### ");
    for (const auto& key : imagebuild::specKeys()) {
        EXPECT_NE(xml.find(key.name + " " + key.dbusType), std::string::npos)
            << "the Submit comment of the XML does not give \"" << key.name << " " << key.dbusType
            << "\"";
        EXPECT_NE(reference.find("| `" + key.name + "` | " + key.dbusType + " | " +
                                 (key.required ? "yes" : "no") + " |"),
                  std::string::npos)
            << "docs/org.imagebuild.BuildManager1.md has no row of " << key.name;
        if (key.inBody) {
            EXPECT_NE(http.find("`" + key.name + "`"), std::string::npos)
                << "POST /v1/builds in docs/imagebuild-forwarder.md does not name " << key.name;
        }
        if (!key.formField.empty()) {
            EXPECT_NE(http.find("`" + key.formField + "`"), std::string::npos)
                << "the form of POST /v1/builds does not name its field " << key.formField;
        }
    }
}

TEST(BuildSpec, TakesRepositoriesAndUpdatesOverDbus) {
    auto s = good();
    s["priority"] = sdbus::Variant(std::int32_t{-5});
    s["repos"] = sdbus::Variant(
        std::map<std::string, std::string>{{"extras", "https://example.org/extras/"}});
    s["updates"] = sdbus::Variant(true);
    s["updates_testing"] = sdbus::Variant(false);
    BuildSpec b = specFromVariants(s);
    EXPECT_EQ(b.repos.at("extras"), "https://example.org/extras/");
    EXPECT_TRUE(b.updates);
    EXPECT_FALSE(b.updatesTesting);
}

TEST(BuildSpec, RefusesARepositoryUrlThatIsNotHttpOrFileByName) {
    auto [field, message] = errorOf(with("repos", sdbus::Variant(std::map<std::string, std::string>{
                                                      {"old", "ftp://example.org/os/"}})));
    EXPECT_EQ(field, "repos");
    EXPECT_NE(message.find("repository old"), std::string::npos) << message;
    EXPECT_NE(message.find("allowed: http://, https:// and file:///"), std::string::npos)
        << message;
    auto [field2, message2] = errorOf(
        with("repos",
             sdbus::Variant(std::map<std::string, std::string>{{"imagebuild-side", "file:///x"}})));
    EXPECT_EQ(field2, "repos");
    EXPECT_NE(message2.find("kept for the repositories"), std::string::npos) << message2;
}

TEST(BuildSpec, UpdatesMustBeABoolean) {
    auto [field, message] = errorOf(with("updates", sdbus::Variant(std::string("yes"))));
    EXPECT_EQ(field, "updates");
    EXPECT_NE(message.find("type 'b'"), std::string::npos) << message;
}

TEST(BuildSpec, RpmsAreFileDescriptorsByName) {
    auto [field, message] = errorOf(with("rpms", sdbus::Variant(std::vector<std::string>{"a"})));
    EXPECT_EQ(field, "rpms");
    EXPECT_NE(message.find("type 'a{sh}'"), std::string::npos) << message;
    auto s = good();
    s["rpms"] = sdbus::Variant(
        std::map<std::string, sdbus::UnixFd>{{"foo.rpm", sdbus::UnixFd(STDIN_FILENO)}});
    EXPECT_EQ(specFromVariants(s).rpms.count("foo.rpm"), 1u);
    auto [field2, message2] = errorOf(
        with("rpms",
             sdbus::Variant(std::map<std::string, sdbus::UnixFd>{{"a/b.rpm", sdbus::UnixFd(0)}})));
    EXPECT_EQ(field2, "rpms");
    EXPECT_NE(message2.find("without '/'"), std::string::npos) << message2;
}

TEST(BuildSpec, JsonTakesRepositoriesButNotRpms) {
    auto j = nlohmann::json{{"type", "oemdrv"},
                            {"arch", "x86_64"},
                            {"release", "40"},
                            {"kickstart", "lang en_US\n"},
                            {"repos", {{"extras", "file:///srv/extras"}}},
                            {"updates_testing", true}};
    auto b = specFromJson(j);
    EXPECT_EQ(b.repos.at("extras"), "file:///srv/extras");
    EXPECT_TRUE(b.updatesTesting);
    j["rpms"] = nlohmann::json::array();
    try {
        specFromJson(j);
        FAIL() << "rpms in JSON was taken";
    } catch (const SpecError& e) {
        EXPECT_EQ(e.field(), "rpms");
    }
}
TEST(BuildSpec, PriorityIsAnIntegerInItsRange) {
    EXPECT_EQ(specFromVariants(good()).priority, 0);
    EXPECT_EQ(specFromVariants(with("priority", sdbus::Variant(std::int32_t{100}))).priority, 100);
    EXPECT_EQ(specFromVariants(with("priority", sdbus::Variant(std::int32_t{-100}))).priority,
              -100);
    for (std::int32_t bad : {101, -101, 1000000}) {
        auto [field, message] = errorOf(with("priority", sdbus::Variant(bad)));
        EXPECT_EQ(field, "priority");
        EXPECT_NE(message.find("-100 to 100"), std::string::npos) << message;
    }
    auto [field, message] = errorOf(with("priority", sdbus::Variant(std::uint64_t{5})));
    EXPECT_EQ(field, "priority");
    EXPECT_NE(message.find("'i'"), std::string::npos) << message;
}

TEST(BuildSpec, JsonPriorityIsCheckedAsOnTheBus) {
    auto base = nlohmann::json{
        {"type", "oemdrv"}, {"arch", "x86_64"}, {"release", "40"}, {"kickstart", "lang en\n"}};
    base["priority"] = 7;
    EXPECT_EQ(specFromJson(base).priority, 7);
    for (auto bad : {nlohmann::json(101), nlohmann::json(-101), nlohmann::json(1e20),
                     nlohmann::json(18446744073709551615ULL), nlohmann::json("5")}) {
        base["priority"] = bad;
        try {
            specFromJson(base);
            ADD_FAILURE() << "priority " << bad.dump() << " was accepted";
        } catch (const SpecError& e) {
            EXPECT_EQ(e.field(), "priority");
            EXPECT_NE(std::string(e.what()).find("-100"), std::string::npos) << e.what();
        }
    }
}
