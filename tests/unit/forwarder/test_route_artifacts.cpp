// GET /artifacts/{id}/{name} against a real file, with a fake agent naming it:
// whole, ranged and conditional answers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "forwarder/app.hpp"
#include "forwarder/local_agent.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;

namespace {

class OneArtifactAgent final : public LocalAgent {
public:
    explicit OneArtifactAgent(std::string path) : path_(std::move(path)) {}
    std::string submit(const DbusSpec&) override { return ""; }
    std::vector<BuildInfo> list() override { return {}; }
    BuildInfo get(const std::string& id) override {
        BuildInfo b;
        b.id = id;
        b.artifacts.push_back({"boot.iso", path_, 10, "abc123"});
        b.artifacts.push_back({"missing.iso", path_ + ".gone", 1, ""});
        return b;
    }
    void cancel(const std::string&) override {}
    std::string retry(const std::string&, const std::string&) override { return {}; }
    std::string kickstart(const std::string&) override { return ""; }
    HostInfo host() override { return {}; }

private:
    std::string path_;
};

struct Artifacts : ::testing::Test {
    Artifacts() : app(parseConfig("", "x"), TokenStore(), "h") {
        char dir[] = "/tmp/forwarder-artifacts-XXXXXX";
        directory = mkdtemp(dir);
        path = directory + "/boot.iso";
        std::ofstream(path) << "0123456789";
        app.setAgent(std::make_unique<OneArtifactAgent>(path));
        registerRoutes(app);
    }
    ~Artifacts() override {
        unlink(path.c_str());
        rmdir(directory.c_str());
    }

    Response get(const std::string& path, const std::string& range = "",
                 const std::string& ifNoneMatch = "") {
        Request r;
        r.method = "GET";
        r.path = path;
        if (!range.empty()) {
            r.headers["range"] = range;
        }
        if (!ifNoneMatch.empty()) {
            r.headers["if-none-match"] = ifNoneMatch;
        }
        return app.dispatch(r);
    }

    static std::string bodyOf(const Response& r) {
        std::string out(r.file->length, '\0');
        auto n =
            pread(r.file->fd->get(), out.data(), out.size(), static_cast<off_t>(r.file->offset));
        out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
        return out;
    }

    static std::string headerOf(const Response& r, const std::string& name) {
        for (const auto& [k, v] : r.headers) {
            if (k == name) {
                return v;
            }
        }
        return "";
    }

    App app;
    std::string directory;
    std::string path;
};

}  // namespace

TEST_F(Artifacts, WholeFileWithEtag) {
    auto r = get("/artifacts/h-1/boot.iso");
    ASSERT_EQ(r.status, 200u);
    ASSERT_TRUE(r.file);
    EXPECT_EQ(bodyOf(r), "0123456789");
    EXPECT_EQ(headerOf(r, "ETag"), "\"abc123\"");
    EXPECT_EQ(headerOf(r, "Accept-Ranges"), "bytes");
}

TEST_F(Artifacts, RangeGives206) {
    auto r = get("/artifacts/h-1/boot.iso", "bytes=2-4");
    ASSERT_EQ(r.status, 206u);
    EXPECT_EQ(bodyOf(r), "234");
    EXPECT_EQ(headerOf(r, "Content-Range"), "bytes 2-4/10");
    r = get("/artifacts/h-1/boot.iso", "bytes=20-");
    EXPECT_EQ(r.status, 416u);
    EXPECT_EQ(headerOf(r, "Content-Range"), "bytes */10");
}

TEST_F(Artifacts, IfNoneMatchGives304) {
    EXPECT_EQ(get("/artifacts/h-1/boot.iso", "", "\"abc123\"").status, 304u);
    EXPECT_EQ(get("/artifacts/h-1/boot.iso", "", "\"other\"").status, 200u);
}

TEST_F(Artifacts, OnlyListedNamesAreServed) {
    EXPECT_EQ(get("/artifacts/h-1/other.iso").status, 404u);
    EXPECT_EQ(get("/artifacts/h-1/..").status, 404u);
    EXPECT_EQ(get("/artifacts/h-1/../../etc/passwd").status, 404u);
    EXPECT_EQ(get("/artifacts/h-1/missing.iso").status, 404u);
}
