// GET /v1/builds' query: filters, pages in a stable order, what peers and the
// local agent are asked for.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/build_json.hpp"
#include "forwarder/build_query.hpp"
#include "tests/unit/forwarder/http_testing.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using namespace imagebuild::testing;
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
