// The web interface's server side: filtering and paging of GET /v1/builds,
// conditional GET (ETag/304), the kickstart route, static files (types,
// caching, no traversal, no symlinks), the pages' security headers, and what
// the shipped www/ files promise: no inline script or style, every
// referenced file present, under 100 KB.
#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "common/build_json.hpp"
#include "common/dbus_names.hpp"
#include "common/sha256.hpp"
#include "forwarder/app.hpp"
#include "forwarder/build_query.hpp"
#include "forwarder/http_cache.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/web_files.hpp"
#include "temp_tree.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using json = nlohmann::json;

namespace {

json build(const std::string& id, const std::string& state, std::uint64_t submitted,
           const std::string& arch = "x86_64", const std::string& release = "40",
           const std::string& type = "oemdrv") {
    auto host = id.substr(0, id.rfind('-'));
    return json{{"id", id},           {"host", host}, {"state", state},           {"arch", arch},
                {"release", release}, {"type", type}, {"submitted_at", submitted}};
}

std::vector<std::string> idsOf(const json& builds) {
    std::vector<std::string> out;
    for (const auto& b : builds) {
        out.push_back(b["id"]);
    }
    return out;
}

Request get(const std::string& path, std::map<std::string, std::string> query = {}) {
    Request r;
    r.method = "GET";
    r.path = path;
    r.query = std::move(query);
    return r;
}

std::string headerOf(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) {
            return v;
        }
    }
    return "";
}

// The page of builds already in a vector, as route_builds makes it of the agent's.
json pageOf(std::vector<BuildInfo> builds, const BuildQuery& query, std::size_t& notSent) {
    LocalPage page(query);
    for (auto& build : builds) {
        page.add(std::move(build));
    }
    return page.take(notSent);
}

}  // namespace

TEST(ForwarderBuildQuery, FiltersAreExactAndStatesAList) {
    json all =
        json::array({build("a-1", "succeeded", 1), build("a-2", "running", 2, "aarch64"),
                     build("b-1", "queued", 3, "x86_64", "41", "boot"), build("b-2", "failed", 4)});
    auto select = [&](std::map<std::string, std::string> q) {
        std::size_t total = 0;
        return idsOf(selectBuilds(all, parseBuildQuery(get("/v1/builds", std::move(q))), total));
    };
    EXPECT_EQ(select({}), (std::vector<std::string>{"a-1", "a-2", "b-1", "b-2"}));
    EXPECT_EQ(select({{"state", "queued,running"}}), (std::vector<std::string>{"a-2", "b-1"}));
    EXPECT_EQ(select({{"host", "b"}}), (std::vector<std::string>{"b-1", "b-2"}));
    EXPECT_EQ(select({{"arch", "aarch64"}}), (std::vector<std::string>{"a-2"}));
    EXPECT_EQ(select({{"release", "41"}, {"type", "boot"}}), (std::vector<std::string>{"b-1"}));
    EXPECT_EQ(select({{"host", "a"}, {"state", "failed"}}), (std::vector<std::string>{}));
    EXPECT_EQ(select({{"order", "newest"}}),
              (std::vector<std::string>{"b-2", "b-1", "a-2", "a-1"}));
}

TEST(ForwarderBuildQuery, BadParametersNameThemselves) {
    auto message = [](std::map<std::string, std::string> q) {
        try {
            parseBuildQuery(get("/v1/builds", std::move(q)));
        } catch (const QueryError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message({{"state", "running,sleeping"}})
                  .find("'state' holds \"sleeping\"; allowed: "
                        "queued, running"),
              std::string::npos);
    EXPECT_NE(message({{"limit", "0"}}).find("'limit' must be an integer in 1..1000"),
              std::string::npos);
    EXPECT_NE(message({{"limit", "abc"}}).find("'limit'"), std::string::npos);
    EXPECT_NE(message({{"limit", "1001"}}).find("'limit'"), std::string::npos);
    EXPECT_NE(message({{"offset", "-1"}}).find("'offset'"), std::string::npos);
    EXPECT_NE(message({{"order", "random"}}).find("'order' must be"), std::string::npos);
}

TEST(ForwarderBuildQuery, PagesCoverEverythingOnceInAStableOrder) {
    // 25 builds, many sharing a timestamp: ties go by host, then number (not text).
    json all = json::array();
    for (int i = 1; i <= 25; ++i) {
        all.push_back(build((i % 2 ? "a-" : "b-") + std::to_string(i), "succeeded", i / 10));
    }
    std::vector<std::string> seen;
    std::size_t offset = 0;
    int pages = 0;
    while (true) {
        auto body = buildListBody(
            all, json::array(),
            parseBuildQuery(
                get("/v1/builds",
                    {{"limit", "10"}, {"offset", std::to_string(offset)}, {"order", "newest"}})));
        EXPECT_EQ(body["total"], 25);
        EXPECT_EQ(body["limit"], 10);
        EXPECT_EQ(body["offset"], offset);
        for (const auto& id : idsOf(body["builds"])) {
            seen.push_back(id);
        }
        ++pages;
        if (body["next"].is_null()) {
            break;
        }
        offset = body["next"];
    }
    EXPECT_EQ(pages, 3);
    ASSERT_EQ(seen.size(), 25u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 25u);
    // Newest first: submitted 2 (i = 20..25), then b before a for ties, numbers descending.
    EXPECT_EQ(seen[0], "b-24");
    EXPECT_EQ(seen[1], "b-22");
    EXPECT_EQ(seen[2], "b-20");
    EXPECT_EQ(seen[3], "a-25");
    // Past the end: an empty page, still the total.
    auto body =
        buildListBody(all, json::array(),
                      parseBuildQuery(get("/v1/builds", {{"limit", "10"}, {"offset", "99"}})));
    EXPECT_EQ(body["builds"].size(), 0u);
    EXPECT_EQ(body["total"], 25);
    EXPECT_TRUE(body["next"].is_null());
}

TEST(ForwarderBuildQuery, WithoutALimitTheAnswerIsTheWholeList) {
    json all = json::array({build("a-2", "succeeded", 2), build("a-1", "succeeded", 1)});
    auto body = buildListBody(all, json::array({"c"}), parseBuildQuery(get("/v1/builds")));
    EXPECT_EQ(idsOf(body["builds"]), (std::vector<std::string>{"a-1", "a-2"}));
    EXPECT_EQ(body["unreachable"], json::array({"c"}));
    EXPECT_EQ(body["total"], 2);
    EXPECT_FALSE(body.contains("next"));
}

TEST(ForwarderBuildQuery, PeersAreAskedForWhatCanBeOnThePage) {
    auto peerQuery = [](std::map<std::string, std::string> q) {
        auto query = parseBuildQuery(get("/v1/builds", q));
        peerQueryFor(query, q);
        return q;
    };
    using Query = std::map<std::string, std::string>;
    // Page 3 of 50, newest first: a peer's newest 150 are enough.
    EXPECT_EQ(
        peerQuery({{"state", "running"}, {"limit", "50"}, {"offset", "100"}, {"order", "newest"}}),
        (Query{{"state", "running"}, {"limit", "150"}, {"order", "newest"}}));
    EXPECT_EQ(peerQuery({{"arch", "x"}, {"limit", "10"}, {"offset", "0"}}),
              (Query{{"arch", "x"}, {"limit", "10"}, {"order", "oldest"}}));
    // A cursor page: a peer is asked the same page after the same cursor.
    EXPECT_EQ(peerQuery({{"arch", "x"}, {"limit", "10"}, {"cursor", "5.b-1"}}),
              (Query{{"arch", "x"}, {"limit", "10"}, {"cursor", "5.b-1"}}));
    // Deeper than one peer page: everything that matches.
    EXPECT_EQ(peerQuery({{"limit", "50"}, {"offset", "5000"}, {"order", "newest"}}), Query{});
    EXPECT_EQ(peerQuery({{"host", "b"}}), (Query{{"host", "b"}}));
}

TEST(ForwarderBuildQuery, TotalCountsWhatPeersDidNotSend) {
    json all = json::array({build("a-1", "succeeded", 1), build("b-9", "succeeded", 9)});
    auto body = buildListBody(
        all, json::array(),
        parseBuildQuery(get("/v1/builds", {{"limit", "1"}, {"offset", "0"}, {"order", "newest"}})),
        100);
    EXPECT_EQ(body["total"], 102);
    EXPECT_EQ(body["next"], 1);
    EXPECT_EQ(body["builds"][0]["id"], "b-9");
}

// This host's part: only the builds that can be on the page become JSON; the
// others that match are counted, so the merged total stays right.
TEST(ForwarderBuildQuery, LocalBuildsSendOnlyWhatCanBeOnThePage) {
    std::vector<BuildInfo> mine;
    for (int i = 1; i <= 20; ++i) {
        BuildInfo b;
        b.id = "h-" + std::to_string(i);
        b.host = "h";
        b.arch = i % 2 ? "x86_64" : "aarch64";
        b.state = "succeeded";
        b.submittedAt = static_cast<std::uint64_t>(i) * 10;
        mine.push_back(b);
    }
    auto query = parseBuildQuery(get(
        "/v1/builds", {{"arch", "x86_64"}, {"order", "newest"}, {"limit", "3"}, {"offset", "2"}}));
    std::size_t notSent = 1;
    auto sent = pageOf(mine, query, notSent);
    EXPECT_EQ(idsOf(sent), (std::vector<std::string>{"h-19", "h-17", "h-15", "h-13", "h-11"}));
    EXPECT_EQ(notSent, 1u + 10u - 5u);
    EXPECT_EQ(sent[0]["arch"], "x86_64");
    // Merged as a peer's answer would be: the same page and total as from everything.
    auto body = buildListBody(sent, json::array(), query, notSent - 1);
    EXPECT_EQ(idsOf(body["builds"]), (std::vector<std::string>{"h-15", "h-13", "h-11"}));
    EXPECT_EQ(body["total"], 10);
    EXPECT_EQ(body["next"], 5);
    // Without a limit everything that matches is sent, oldest first by default.
    notSent = 0;
    auto all = pageOf(mine, parseBuildQuery(get("/v1/builds", {{"arch", "aarch64"}})), notSent);
    EXPECT_EQ(all.size(), 10u);
    EXPECT_EQ(all[0]["id"], "h-2");
    EXPECT_EQ(notSent, 0u);
}

// Builds as the agent lists them (oldest first) or in any order: the page a
// host sends is the one a full sort of everything would give.
TEST(ForwarderBuildQuery, LocalPageKeepsThePageWhateverTheOrderBuildsCome) {
    std::vector<BuildInfo> mine;
    for (int i = 1; i <= 200; ++i) {
        BuildInfo b;
        b.id = (i % 3 ? "h-" : "g-") + std::to_string(i);
        b.host = i % 3 ? "h" : "g";
        b.state = i % 4 ? "succeeded" : "failed";
        b.submittedAt = static_cast<std::uint64_t>(i / 2);  // pairs share a timestamp
        mine.push_back(b);
    }
    auto shuffled = mine;
    std::mt19937 random(9);
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    for (auto order : {"newest", "oldest"}) {
        for (auto [limit, offset] : {std::pair{"1", "0"}, {"7", "0"}, {"50", "3"}, {"1000", "0"}}) {
            auto query = parseBuildQuery(get(
                "/v1/builds",
                {{"state", "succeeded"}, {"order", order}, {"limit", limit}, {"offset", offset}}));
            // What the host sends, merged as a peer's answer would be, against
            // the whole list cut by buildListBody directly.
            std::size_t notSent = 0;
            LocalPage page(query);
            for (auto b : shuffled) {
                page.add(std::move(b));
            }
            auto sent = page.take(notSent);
            json everything = json::array();
            for (const auto& b : mine) {
                everything.push_back(b);
            }
            auto expected = buildListBody(everything, json::array(), query);
            auto body = buildListBody(sent, json::array(), query, notSent);
            EXPECT_EQ(idsOf(body["builds"]), idsOf(expected["builds"])) << order << limit;
            EXPECT_EQ(body["total"], expected["total"]);
            EXPECT_EQ(body["total"], 150);
            EXPECT_EQ(sent.size(),
                      std::stoul(offset) + std::min<std::size_t>(std::stoul(limit), 150));
        }
    }
}

TEST(ForwarderBuildQuery, TheAgentIsAskedOnlyForMatchingBuilds) {
    auto filter = parseBuildQuery(get("/v1/builds", {{"state", "queued,running"},
                                                     {"type", "oemdrv"},
                                                     {"arch", "aarch64"},
                                                     {"release", "41"},
                                                     {"host", "h"}}))
                      .filter;
    EXPECT_EQ(filter.states, (std::vector<std::string>{"queued", "running"}));
    EXPECT_EQ(filter.type, "oemdrv");
    EXPECT_EQ(filter.arch, "aarch64");
    EXPECT_EQ(filter.release, "41");
    auto none = parseBuildQuery(get("/v1/builds")).filter;
    EXPECT_TRUE(none.states.empty() && none.type.empty() && none.arch.empty() &&
                none.release.empty());
}

TEST(ForwarderHttpCache, EtagAnd304ForWholeGetAnswers) {
    Request r = get("/v1/hosts");
    Response a;
    a.body = "{\"hosts\":[]}";
    applyConditionalGet(r, a);
    auto etag = headerOf(a, "ETag");
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(a.status, 200u);
    r.headers["if-none-match"] = etag;
    Response b;
    b.body = a.body;
    applyConditionalGet(r, b);
    EXPECT_EQ(b.status, 304u);
    EXPECT_TRUE(b.body.empty());
    Response changed;
    changed.body = "{\"hosts\":[1]}";
    applyConditionalGet(r, changed);
    EXPECT_EQ(changed.status, 200u);
    EXPECT_NE(headerOf(changed, "ETag"), etag);
    // Not for writes, errors or streams.
    Request post = r;
    post.method = "POST";
    Response c;
    c.body = a.body;
    applyConditionalGet(post, c);
    EXPECT_EQ(headerOf(c, "ETag"), "");
    EXPECT_TRUE(etagMatches("W/" + etag, etag));
    EXPECT_TRUE(etagMatches("*", etag));
    EXPECT_FALSE(etagMatches("", etag));
}

namespace {

class ListAgent final : public LocalAgent {
public:
    std::vector<BuildInfo> builds;
    std::optional<BuildListFilter> asked;  // the last listEach's filter

    std::string submit(const DbusSpec&) override { return ""; }
    std::vector<BuildInfo> list() override { return builds; }
    void listEach(const BuildListFilter& filter,
                  const std::function<void(BuildInfo&&)>& each) override {
        asked = filter;
        LocalAgent::listEach(filter, each);
    }
    BuildInfo get(const std::string& id) override {
        for (const auto& b : builds) {
            if (b.id == id) {
                return b;
            }
        }
        throw sdbus::Error(dbus_names::error::kNotFound, "no build " + id);
    }
    void cancel(const std::string&) override {}
    std::string retry(const std::string&, const std::string&) override { return {}; }
    std::string kickstart(const std::string& id) override {
        get(id);
        return "%pre\necho '<script>alert(1)</script>'\n%end\n";
    }
    HostInfo host() override { return {}; }
};

BuildInfo info(const std::string& id, const std::string& state, std::uint64_t submitted) {
    BuildInfo b;
    b.id = id;
    b.host = "h";
    b.state = state;
    b.submittedAt = submitted;
    return b;
}

struct Web : ::testing::Test {
    Web()
        : app(parseConfig("[forwarder]\nwww_dir = " + std::string(IMAGEBUILD_WWW_SOURCE), "x"),
              TokenStore(), "h") {
        auto fake = std::make_unique<ListAgent>();
        agent = fake.get();
        for (int i = 1; i <= 120; ++i) {
            agent->builds.push_back(
                info("h-" + std::to_string(i), i % 3 ? "succeeded" : "failed", i));
        }
        app.setAgent(std::move(fake));
        registerRoutes(app);
    }

    Response call(Request r) { return app.dispatch(r); }

    App app;
    ListAgent* agent = nullptr;
};

std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_F(Web, BuildListPagesByCursor) {
    auto first =
        call(get("/v1/builds", {{"state", "failed"}, {"limit", "30"}, {"order", "newest"}}));
    ASSERT_EQ(first.status, 200u) << first.body;
    auto body = json::parse(first.body);
    EXPECT_FALSE(body.contains("total"));
    ASSERT_EQ(body["builds"].size(), 30u);
    EXPECT_EQ(body["builds"][0]["id"], "h-120");
    EXPECT_EQ(body["builds"][29]["id"], "h-33");
    // The agent was asked for a page, not its whole list.
    ASSERT_TRUE(agent->asked);
    EXPECT_EQ(agent->asked->limit, 30u);
    ASSERT_TRUE(body["next_cursor"].is_string());
    auto second = call(get("/v1/builds", {{"state", "failed"},
                                          {"limit", "30"},
                                          {"order", "newest"},
                                          {"cursor", body["next_cursor"]}}));
    ASSERT_EQ(second.status, 200u) << second.body;
    body = json::parse(second.body);
    ASSERT_EQ(body["builds"].size(), 10u);
    EXPECT_EQ(body["builds"][0]["id"], "h-30");
    EXPECT_EQ(body["builds"][9]["id"], "h-3");
    EXPECT_TRUE(body["next_cursor"].is_null());
    auto bad = call(get("/v1/builds", {{"limit", "3"}, {"cursor", "h-3"}}));
    EXPECT_EQ(bad.status, 400u);
    EXPECT_NE(json::parse(bad.body)["message"].get<std::string>().find("cursor"),
              std::string::npos);
}

TEST_F(Web, BuildListIsFilteredPagedAndRevalidated) {
    auto first =
        call(get("/v1/builds",
                 {{"state", "failed"}, {"limit", "30"}, {"offset", "0"}, {"order", "newest"}}));
    ASSERT_EQ(first.status, 200u) << first.body;
    auto body = json::parse(first.body);
    EXPECT_EQ(body["total"], 40);
    EXPECT_EQ(body["builds"].size(), 30u);
    EXPECT_EQ(body["builds"][0]["id"], "h-120");
    EXPECT_EQ(body["next"], 30);
    // The same question again with the ETag: 304, nothing sent.
    auto again = get("/v1/builds",
                     {{"state", "failed"}, {"limit", "30"}, {"offset", "0"}, {"order", "newest"}});
    again.headers["if-none-match"] = headerOf(first, "ETag");
    auto notModified = call(again);
    EXPECT_EQ(notModified.status, 304u);
    EXPECT_TRUE(notModified.body.empty());
    // A new build changes the answer.
    agent->builds.push_back(info("h-121", "failed", 121));
    auto changed = call(again);
    EXPECT_EQ(changed.status, 200u);
    EXPECT_EQ(json::parse(changed.body)["builds"][0]["id"], "h-121");
    // A bad parameter is a 400 naming it.
    auto bad = call(get("/v1/builds", {{"limit", "x"}}));
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(json::parse(bad.body)["error"], "InvalidQuery");
    // A host filter naming another host leaves this one out.
    agent->asked.reset();
    EXPECT_EQ(json::parse(call(get("/v1/builds", {{"host", "other"}})).body)["total"], 0);
    EXPECT_FALSE(agent->asked);
}

// The agent filters what it can: builds that cannot match never cross the bus.
TEST_F(Web, BuildListFiltersAreAskedOfTheAgent) {
    auto r = call(get("/v1/builds", {{"state", "failed,queued"},
                                     {"arch", "x86_64"},
                                     {"release", "40"},
                                     {"type", "oemdrv"},
                                     {"limit", "5"}}));
    ASSERT_EQ(r.status, 200u) << r.body;
    ASSERT_TRUE(agent->asked);
    EXPECT_EQ(agent->asked->states, (std::vector<std::string>{"failed", "queued"}));
    EXPECT_EQ(agent->asked->arch, "x86_64");
    EXPECT_EQ(agent->asked->release, "40");
    EXPECT_EQ(agent->asked->type, "oemdrv");
}

// The dashboard names the builds page its script asks for first in a
// <link rel="preload">: the view in the page's URL, encoded as URLSearchParams does.
TEST_F(Web, DashboardPreloadsItsFirstBuildsPage) {
    auto plain = call(get("/"));
    ASSERT_EQ(plain.status, 200u);
    EXPECT_NE(
        plain.body.find(
            "<link rel=\"preload\" href=\"/v1/builds?order=newest&amp;limit=50\" as=\"fetch\""),
        std::string::npos)
        << plain.body.substr(0, 600);
    auto filtered = call(get("/", {{"release", "40 beta"},
                                   {"state", "queued,running"},
                                   {"cursor", "1700000000000000.h-5"},
                                   {"x", "<script>"}}));
    EXPECT_NE(filtered.body.find("href=\"/v1/builds?order=newest&amp;limit=50&amp;"
                                 "cursor=1700000000000000.h-5&amp;"
                                 "state=queued%2Crunning&amp;release=40+beta\""),
              std::string::npos)
        << filtered.body.substr(0, 600);
    auto odd = call(get("/", {{"cursor", "<x y>"}, {"type", "<a\"b>"}}));
    EXPECT_NE(odd.body.find("cursor=%3Cx+y%3E&amp;type=%3Ca%22b%3E\""), std::string::npos);
}

// A kickstart may hold password hashes: the token that submitted the build
// (through this forwarder, whose uid the agent records) or an admin token.
TEST(ForwarderKickstart, PlainTextForItsSubmitterOrAnAdminOnly) {
    auto tokens = TokenStore::parse(
        "alice " + sha256Hex("alice-secret") + "\nbob " + sha256Hex("bob-secret") + "\nops " +
            sha256Hex("ops-secret") + " admin\nfleet " + sha256Hex("fleet-secret") + "\n",
        "tokens");
    App app(parseConfig("[forwarder]\n", "x"), std::move(tokens), "h");
    auto fake = std::make_unique<ListAgent>();
    auto viaHttp = info("h-3", "succeeded", 3);
    viaHttp.submitter = "alice";
    viaHttp.submitterUid = getuid();
    auto onHost = info("h-4", "succeeded", 4);
    onHost.submitter = "alice";  // a local user of that name, not the token
    onHost.submitterUid = getuid() + 1;
    fake->builds = {viaHttp, onHost};
    app.setAgent(std::move(fake));
    registerRoutes(app);
    auto read = [&](const std::string& path, const std::string& token) {
        Request r = get(path);
        if (!token.empty()) {
            r.headers["authorization"] = "Bearer " + token;
        }
        return app.dispatch(r);
    };
    auto r = read("/v1/builds/h-3/kickstart", "alice-secret");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.contentType, "text/plain; charset=utf-8");
    EXPECT_EQ(headerOf(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_NE(r.body.find("<script>"), std::string::npos);
    EXPECT_EQ(read("/v1/builds/h-3/kickstart", "ops-secret").status, 200u);
    EXPECT_EQ(read("/v1/builds/h-4/kickstart", "ops-secret").status, 200u);
    auto anonymous = read("/v1/builds/h-3/kickstart", "");
    EXPECT_EQ(anonymous.status, 401u);
    EXPECT_EQ(json::parse(anonymous.body)["error"], "Unauthorized");
    EXPECT_EQ(read("/v1/builds/h-3/kickstart", "fleet-secret").status, 401u);
    auto bob = read("/v1/builds/h-3/kickstart", "bob-secret");
    EXPECT_EQ(bob.status, 403u);
    EXPECT_NE(json::parse(bob.body)["message"].get<std::string>().find("submitted by 'alice'"),
              std::string::npos);
    EXPECT_EQ(read("/v1/builds/h-4/kickstart", "alice-secret").status, 403u);
    EXPECT_EQ(read("/v1/builds/h-999/kickstart", "ops-secret").status, 404u);
    EXPECT_EQ(read("/v1/builds/../kickstart", "ops-secret").status, 404u);
}

TEST_F(Web, PagesCarryTheContentSecurityPolicy) {
    for (const char* path : {"/", "/submit", "/builds/h-3"}) {
        auto r = call(get(path));
        EXPECT_EQ(r.status, 200u) << path;
        EXPECT_EQ(r.contentType, "text/html; charset=utf-8") << path;
        auto csp = headerOf(r, "Content-Security-Policy");
        EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path;
        EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
        EXPECT_EQ(headerOf(r, "X-Content-Type-Options"), "nosniff");
        // Every page has the shared top bar (www/header.html) and no placeholder left.
        EXPECT_NE(r.body.find("<form id=\"signin-form\">"), std::string::npos) << path;
        EXPECT_EQ(r.body.find("{{"), std::string::npos) << path;
    }
    auto page = call(get("/builds/h-3")).body;
    EXPECT_NE(page.find("data-build=\"h-3\""), std::string::npos);
    EXPECT_NE(page.find("href=\"/monitor/h-3?format=html\""), std::string::npos);
    EXPECT_EQ(page.find("{{"), std::string::npos);
    // Not an id: an HTML 404 that shows the input as text.
    auto bad = call(get("/builds/<script>x"));
    EXPECT_EQ(bad.status, 404u);
    EXPECT_EQ(bad.body.find("<script>x"), std::string::npos);
    EXPECT_NE(bad.body.find("&lt;script&gt;x"), std::string::npos);
    EXPECT_FALSE(headerOf(bad, "Content-Security-Policy").empty());
}

TEST_F(Web, StaticFilesHaveTypesAndRevalidate) {
    auto css = call(get("/static/app.css"));
    ASSERT_EQ(css.status, 200u);
    ASSERT_TRUE(css.file);
    EXPECT_EQ(css.contentType, "text/css; charset=utf-8");
    EXPECT_EQ(headerOf(css, "Cache-Control"), "no-cache");
    EXPECT_EQ(call(get("/static/dashboard.js")).contentType, "text/javascript; charset=utf-8");
    EXPECT_EQ(call(get("/static/favicon.svg")).contentType, "image/svg+xml");
    auto again = get("/static/app.css");
    again.headers["if-none-match"] = headerOf(css, "ETag");
    EXPECT_EQ(call(again).status, 304u);
}

TEST_F(Web, NothingOutsideStaticIsReachable) {
    for (const char* path :
         {"/static/..", "/static/.hidden.js", "/static/../index.html", "/static/..%2Findex.html",
          "/static/index", "/static/x.exe", "/static/missing.js", "/static/", "/static/-x.js"}) {
        EXPECT_EQ(call(get(path)).status, 404u) << path;
    }
    EXPECT_FALSE(staticContentType("a/b.js"));
    EXPECT_FALSE(staticContentType(".."));
    EXPECT_FALSE(staticContentType("x.js%00"));
}

// GET /v1/whoami: the sign-in box checks a token with it before keeping it.
TEST(ForwarderWhoami, NamesTheTokenOrRefusesWith401) {
    auto tokens = TokenStore::parse(
        "alice " + sha256Hex("alice-secret") + "\ncarol " + sha256Hex("carol-secret") + " read\n",
        "tokens");
    App app(parseConfig("[forwarder]\n", "x"), std::move(tokens), "h");
    registerRoutes(app);
    auto whoami = [&](const std::string& authorization) {
        Request r = get("/v1/whoami");
        if (!authorization.empty()) {
            r.headers["authorization"] = authorization;
        }
        return app.dispatch(r);
    };
    auto alice = whoami("Bearer alice-secret");
    ASSERT_EQ(alice.status, 200u) << alice.body;
    EXPECT_EQ(json::parse(alice.body), (json{{"name", "alice"}, {"role", "write"}}));
    auto carol = whoami("Bearer carol-secret");
    ASSERT_EQ(carol.status, 200u) << carol.body;
    EXPECT_EQ(json::parse(carol.body), (json{{"name", "carol"}, {"role", "read"}}));
    // Reads are open, but without a token there is nobody to name.
    for (const std::string& bad : {std::string(), std::string("Bearer wrong"),
                                   std::string("Basic YWxpY2U6eA=="), std::string("Bearer ")}) {
        auto refused = whoami(bad);
        EXPECT_EQ(refused.status, 401u) << bad;
        auto body = json::parse(refused.body);
        EXPECT_EQ(body["error"], "Unauthorized") << bad;
        EXPECT_FALSE(body["message"].get<std::string>().empty()) << bad;
        EXPECT_EQ(headerOf(refused, "WWW-Authenticate"), "Bearer realm=\"imagebuild\"") << bad;
    }
    EXPECT_NE(
        json::parse(whoami("").body)["message"].get<std::string>().find("Authorization: Bearer"),
        std::string::npos);
}

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

// What the shipped files promise (docs/web.md): no inline script, style or
// event handler (the CSP would block them), every referenced /static file
// exists, and a page with everything it loads weighs under 100 KB.
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
