// Kickstart uploads over HTTP: tars read into memory (bad entries refused by
// name), the top file chosen, forms turned into the JSON spec.
#include <fcntl.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/build_spec.hpp"
#include "forwarder/config.hpp"
#include "forwarder/kickstart_upload.hpp"
#include "forwarder/upload_form.hpp"

using namespace imagebuild::forwarder;
using json = nlohmann::json;

namespace {

struct Entry {
    Entry(std::string path, std::string content, unsigned type = AE_IFREG, std::string link = "",
          bool hardlink = false)
        : path(std::move(path)),
          content(std::move(content)),
          type(type),
          link(std::move(link)),
          hardlink(hardlink) {}
    std::string path;
    std::string content;
    unsigned type;
    std::string link;  // symlink target, or hard link target if hardlink
    bool hardlink;
};

// A tar (gzip if asked) made with libarchive, so that any entry can be forged.
std::string makeTar(const std::vector<Entry>& entries, bool gzip = false) {
    std::vector<char> buffer(1 << 20);
    std::size_t used = 0;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) {
        archive_write_add_filter_gzip(a);
    }
    archive_write_open_memory(a, buffer.data(), buffer.size(), &used);
    for (const auto& e : entries) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.path.c_str());
        archive_entry_set_filetype(entry, e.type);
        archive_entry_set_perm(entry, 0644);
        if (e.hardlink) {
            archive_entry_set_hardlink(entry, e.link.c_str());
        } else if (e.type == AE_IFLNK) {
            archive_entry_set_symlink(entry, e.link.c_str());
        }
        archive_entry_set_size(entry, e.type == AE_IFREG && !e.hardlink
                                          ? static_cast<la_int64_t>(e.content.size())
                                          : 0);
        archive_write_header(a, entry);
        if (e.type == AE_IFREG && !e.hardlink) {
            archive_write_data(a, e.content.data(), e.content.size());
        }
        archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
    return std::string(buffer.data(), used);
}

void expectUploadError(const std::function<void()>& f, unsigned status, const std::string& error,
                       const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "no error; expected " << needle;
    } catch (const UploadError& e) {
        EXPECT_EQ(e.status, status) << e.what();
        EXPECT_EQ(e.error, error) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

const std::string kBase = "lang en_US.UTF-8\n%include parts/repo.ks\n";
const std::string kRepo = "repo --name=fedora --baseurl=http://example/\n";

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

TEST(KickstartUpload, TarDetectionIsByContent) {
    EXPECT_TRUE(looksLikeTar(makeTar({{"ks.cfg", "x\n"}})));
    EXPECT_TRUE(looksLikeTar(makeTar({{"ks.cfg", "x\n"}}, true)));
    EXPECT_FALSE(looksLikeTar("lang en_US\n"));
    EXPECT_FALSE(looksLikeTar(""));
}

TEST(KickstartUpload, TreeWithIncludeIsFlattened) {
    for (bool gzip : {false, true}) {
        auto tar =
            makeTar({{"./", "", AE_IFDIR}, {"./ks.cfg", kBase}, {"parts/repo.ks", kRepo}}, gzip);
        auto text = flattenUploadedKickstart(tar, "tree.tgz", "", {});
        EXPECT_EQ(text, "lang en_US.UTF-8\n" + kRepo) << gzip;
    }
}

TEST(KickstartUpload, BadEntriesAreRefusedByName) {
    auto read = [](const std::vector<Entry>& entries) {
        return [entries] {
            readTarTree(makeTar(entries), 1 << 20);
        };
    };
    expectUploadError(read({{"ks.cfg", "x"}, {"../evil.ks", "x"}}), 400, "InvalidUpload",
                      "'../evil.ks' contains '..'");
    expectUploadError(read({{"a/../../b.ks", "x"}}), 400, "InvalidUpload", "'a/../../b.ks'");
    expectUploadError(read({{"/etc/ks.cfg", "x"}}), 400, "InvalidUpload",
                      "'/etc/ks.cfg' is an absolute path");
    expectUploadError(read({{"ks.cfg", "x"}, {"repo.ks", "", AE_IFLNK, "/etc/shadow"}}), 400,
                      "InvalidUpload", "'repo.ks' is a symbolic link to '/etc/shadow'");
    expectUploadError(read({{"ks.cfg", "x"}, {"copy.ks", "", AE_IFREG, "ks.cfg", true}}), 400,
                      "InvalidUpload", "'copy.ks' is a hard link");
    expectUploadError(read({{"null", "", AE_IFCHR}}), 400, "InvalidUpload", "'null' is a device");
    expectUploadError(read({{"fifo", "", AE_IFIFO}}), 400, "InvalidUpload", "'fifo' is a FIFO");
    expectUploadError(read({{"ks.cfg", "x"}, {"./ks.cfg", "y"}}), 400, "InvalidUpload",
                      "appears twice");
    expectUploadError(read({{"d/", "", AE_IFDIR}}), 400, "InvalidUpload", "holds no file");
}

TEST(KickstartUpload, OversizeTreeIs413) {
    auto tar = makeTar({{"ks.cfg", std::string(3000, '#')}, {"b.ks", std::string(3000, '#')}});
    expectUploadError([&] { readTarTree(tar, 5000); }, 413, "PayloadTooLarge", "max_upload_bytes");
    EXPECT_NO_THROW(readTarTree(tar, 6000));
}

TEST(KickstartUpload, TooManyEntriesIs413NamingTheLimit) {
    std::vector<Entry> entries;
    for (int i = 0; i < 11; ++i) {
        entries.push_back({"e" + std::to_string(i) + ".ks", ""});
    }
    auto tar = makeTar(entries);
    expectUploadError([&] { readTarTree(tar, 1 << 20, 10); }, 413, "PayloadTooLarge",
                      "more than 10 entries (max_upload_entries)");
    EXPECT_NO_THROW(readTarTree(tar, 1 << 20, 11));
    // Directories count too: they cost as much to keep as empty files.
    entries.erase(entries.begin() + 1, entries.end());
    for (int i = 0; i < 10; ++i) {
        entries.push_back({"d" + std::to_string(i) + "/", "", AE_IFDIR});
    }
    expectUploadError([&] { readTarTree(makeTar(entries), 1 << 20, 10); }, 413, "PayloadTooLarge",
                      "max_upload_entries");
}

TEST(KickstartUpload, DamagedArchivesAreRefused) {
    auto tar = makeTar({{"ks.cfg", std::string(5000, '#')}});
    expectUploadError([&] { readTarTree(tar.substr(0, 1500), 1 << 20); }, 400, "InvalidUpload",
                      "kickstart_file");
    std::string gzipNotTar = "\x1f\x8b garbage";
    expectUploadError([&] { readTarTree(gzipNotTar, 1 << 20); }, 400, "InvalidUpload",
                      "kickstart_file");
}

TEST(KickstartUpload, MainFileChoice) {
    EXPECT_EQ(chooseMainFile({"a.ks", "ks.cfg"}, ""), "ks.cfg");
    EXPECT_EQ(chooseMainFile({"parts/x.ks", "live.ks"}, ""), "live.ks");
    EXPECT_EQ(chooseMainFile({"a.ks", "b.ks"}, "./b.ks"), "b.ks");
    expectUploadError(
        [] {
            chooseMainFile({"a.ks", "b.cfg"}, "");
        },
        400, "InvalidSpec", "kickstart_main is required");
    expectUploadError([] { chooseMainFile({"parts/a.ks"}, ""); }, 400, "InvalidSpec",
                      "kickstart_main is required");
    expectUploadError([] { chooseMainFile({"a.ks"}, "b.ks"); }, 400, "InvalidSpec",
                      "kickstart_main: 'b.ks'");
}

TEST(KickstartUpload, KickstartErrorsNameFileAndLine) {
    auto tar = makeTar({{"ks.cfg", "lang C\n%include missing.ks\n"}});
    expectUploadError([&] { flattenUploadedKickstart(tar, "t.tar", "", {}); }, 400,
                      kInvalidKickstart, "ks.cfg:2:");
    // Pasted text is a tree of one file: an include cannot be satisfied.
    expectUploadError([] { flattenPastedKickstart("lang C\n%include other.ks\n", {}); }, 400,
                      kInvalidKickstart, "kickstart:2:");
    EXPECT_EQ(flattenPastedKickstart("lang C\n", {}), "lang C\n");
    // One uploaded file keeps its name in messages.
    expectUploadError([] { flattenUploadedKickstart("%include x.ks\n", "dir/my.ks", "", {}); }, 400,
                      kInvalidKickstart, "my.ks:1:");
}

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
