// Static files and pages from the www directory: no symlinks followed, Debian's
// javascript packages, and what the shipped www/ files promise: no inline
// script or style, every referenced file present, under 100 KB.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "forwarder/web_files.hpp"
#include "tests/unit/forwarder/http_testing.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild::forwarder;
using namespace imagebuild::testing;

namespace {

std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST(ForwarderWebFiles, SymlinksAreNotFollowed) {
    imagebuild::testing::TempTree tree;
    tree.write("secret.txt", "secret");
    std::filesystem::create_directories(tree.path("static"));
    std::filesystem::create_symlink(tree.path("secret.txt"), tree.path("static/leak.txt"));
    tree.write("static/ok.txt", "ok");
    EXPECT_EQ(staticFile(tree.root().string(), "leak.txt", get("/")).status, 404u);
    EXPECT_EQ(staticFile(tree.root().string(), "ok.txt", get("/")).status, 200u);
    // A missing web interface is a page that says so, not a crash.
    auto missing = htmlPage(tree.root().string(), "index.html");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_NE(missing.body.find("not installed"), std::string::npos);
    // So is a page whose shared top bar is missing.
    tree.write("index.html", "<body>\n{{> header}}\n</body>\n");
    auto noHeader = htmlPage(tree.root().string(), "index.html");
    EXPECT_EQ(noHeader.status, 404u);
    EXPECT_NE(noHeader.body.find("header.html"), std::string::npos);
    tree.write("header.html", "<header>top</header>\n");
    EXPECT_EQ(htmlPage(tree.root().string(), "index.html").body,
              "<body>\n<header>top</header>\n\n</body>\n");
}

// /javascript/<library>/<name>: what a Debian libjs-* package installs, its
// symlinks followed (packages link names to files); nothing outside it.
TEST(ForwarderWebFiles, DebianJavascriptIsServedFromItsPackageDirectory) {
    imagebuild::testing::TempTree tree;
    tree.write("chart.js/chart.min.js", "window.Chart = function () {};");
    std::filesystem::create_symlink("chart.min.js", tree.path("chart.js/Chart.min.js"));
    tree.write("chart.js/README.txt", "text");
    tree.write("secret.js", "secret");
    auto dir = tree.root().string();
    auto served = javascriptFile(dir, "chart.js", "chart.min.js", get("/"));
    EXPECT_EQ(served.status, 200u);
    EXPECT_EQ(served.contentType, "text/javascript; charset=utf-8");
    ASSERT_TRUE(served.file);
    EXPECT_EQ(served.file->length, 30u);
    EXPECT_EQ(javascriptFile(dir, "chart.js", "Chart.min.js", get("/")).status, 200u);
    auto etag = headerOf(served, "ETag");
    auto again = get("/");
    again.headers["if-none-match"] = etag;
    EXPECT_EQ(javascriptFile(dir, "chart.js", "chart.min.js", again).status, 304u);
    // Not a script, not there (the package is not installed), or out of the tree: 404.
    EXPECT_EQ(javascriptFile(dir, "chart.js", "README.txt", get("/")).status, 404u);
    EXPECT_EQ(javascriptFile(dir, "chart.js", "chart.esm.js", get("/")).status, 404u);
    EXPECT_EQ(javascriptFile(dir, "other", "chart.min.js", get("/")).status, 404u);
    EXPECT_EQ(javascriptFile(dir, "..", "secret.js", get("/")).status, 404u);
    EXPECT_EQ(javascriptFile(dir, "chart.js", "../secret.js", get("/")).status, 404u);
}

// What the shipped files promise (docs/web.md): no inline script, style or
// event handler (the CSP would block them), every referenced /static file
// exists, and a page with everything it loads weighs under 100 KB.
TEST(ForwarderWebFiles, ShippedPagesKeepThePromises) {
    std::filesystem::path www(IMAGEBUILD_WWW_SOURCE);
    std::regex reference(R"re((?:src|href)="/static/([^"]+)")re");
    std::regex import(R"re(from '\./([^']+)')re");
    std::regex inlineScript(R"(<script(?![^>]*\bsrc=)[^>]*>)");
    std::regex handler(R"(\son[a-z]+\s*=)");
    for (const char* page : {"index.html", "stats.html", "build.html", "submit.html"}) {
        // As served: with the shared top bar (www/header.html) in place.
        auto served = htmlPage(www.string(), page);
        ASSERT_EQ(served.status, 200u) << page;
        auto html = served.body;
        ASSERT_FALSE(html.empty()) << page;
        EXPECT_FALSE(std::regex_search(html, inlineScript)) << page;
        EXPECT_EQ(html.find("<style"), std::string::npos) << page;
        EXPECT_EQ(html.find(" style="), std::string::npos) << page;
        EXPECT_FALSE(std::regex_search(html, handler)) << page;
        // The page and the closure of what it loads.
        std::set<std::string> files;
        std::vector<std::string> todo;
        for (std::sregex_iterator it(html.begin(), html.end(), reference), end; it != end; ++it) {
            todo.push_back((*it)[1]);
        }
        std::size_t weight = html.size();
        while (!todo.empty()) {
            auto name = todo.back();
            todo.pop_back();
            if (!files.insert(name).second) {
                continue;
            }
            ASSERT_TRUE(staticContentType(name)) << page << " loads " << name;
            auto text = readFile(www / "static" / name);
            ASSERT_FALSE(text.empty()) << page << " loads a missing " << name;
            weight += text.size();
            for (std::sregex_iterator it(text.begin(), text.end(), import), end; it != end; ++it) {
                todo.push_back((*it)[1]);
            }
        }
        EXPECT_LT(weight, 100u * 1024) << page;
    }
    // Scripts never turn data into markup.
    for (const auto& entry : std::filesystem::directory_iterator(www / "static")) {
        if (entry.path().extension() == ".js") {
            auto text = readFile(entry.path());
            EXPECT_EQ(text.find("innerHTML"), std::string::npos) << entry.path();
            EXPECT_EQ(text.find("insertAdjacentHTML"), std::string::npos) << entry.path();
            EXPECT_EQ(text.find("document.write"), std::string::npos) << entry.path();
        }
    }
}
