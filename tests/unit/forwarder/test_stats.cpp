// GET /v1/stats: day bucketing in UTC, nearest-rank summaries, merging the
// peers' parts (exact medians from their samples), an empty history, and the
// route reading a long local history page by page with a peer down.
#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <nlohmann/json.hpp>

#include "common/build_id.hpp"
#include "common/clock.hpp"
#include "common/list_builds.hpp"
#include "forwarder/app.hpp"
#include "forwarder/config.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/peers.hpp"
#include "forwarder/stats.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using json = nlohmann::json;

namespace {

// 2026-12-03 00:00:00 UTC
constexpr std::uint64_t kDec3 = 1'796'256'000'000'000;
constexpr std::uint64_t kSecond = 1'000'000;

BuildInfo build(const std::string& id, const std::string& state, std::uint64_t submitted,
                std::uint64_t wait = 0, std::uint64_t ran = 0, const std::string& type = "oemdrv",
                const std::string& failureClass = "") {
    BuildInfo b;
    b.id = id;
    b.host = BuildId::parse(id)->host;
    b.type = type;
    b.state = state;
    b.failureClass = failureClass;
    b.submittedAt = submitted;
    if (state != "queued") {
        b.startedAt = submitted + wait;
    }
    if (state != "queued" && state != "running") {
        b.finishedAt = b.startedAt + ran;
    }
    return b;
}

const json& dayOf(const json& answer, const std::string& day) {
    for (const auto& d : answer["per_day"]) {
        if (d["day"] == day) {
            return d;
        }
    }
    throw std::runtime_error("no day " + day);
}

}  // namespace

TEST(StatsWindow, DaysAreWholeUtcDaysEndingToday) {
    EXPECT_EQ(utcDay(kDec3), "2026-12-03");
    EXPECT_EQ(utcDay(kDec3 - 1), "2026-12-02");  // 23:59:59.999999 the day before
    auto w = statsWindow(14, kDec3 + 15 * 3600 * kSecond);
    EXPECT_EQ(w.days, 14u);
    EXPECT_EQ(w.fromUsec, kDec3 - 13 * kUsecPerDay);
    EXPECT_EQ(utcDay(w.fromUsec), "2026-11-20");
    EXPECT_EQ(statsWindow(0, kDec3).days, 1u);
    EXPECT_EQ(statsWindow(1000, kDec3).days, kMaxStatsDays);
}

TEST(StatsWindow, BuildsCountOnTheUtcDayTheyWereSubmitted) {
    StatsPart part(statsWindow(14, kDec3 + 3600 * kSecond));
    part.add(build("a-1", "succeeded", kDec3 - 1, 2 * 3600 * kSecond, 10));  // ran into Dec 3
    part.add(build("a-2", "failed", kDec3, 0, 1, "oemdrv", "build"));
    part.add(build("a-3", "succeeded", kDec3 - 13 * kUsecPerDay));      // the first day
    part.add(build("a-4", "succeeded", kDec3 - 13 * kUsecPerDay - 1));  // before it: left out
    auto answer = part.answerJson();
    ASSERT_EQ(answer["per_day"].size(), 14u);
    EXPECT_EQ(answer["per_day"].front()["day"], "2026-11-20");
    EXPECT_EQ(answer["per_day"].back()["day"], "2026-12-03");
    EXPECT_EQ(dayOf(answer, "2026-12-02")["total"], 1);
    EXPECT_EQ(dayOf(answer, "2026-12-02")["states"]["succeeded"], 1);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["states"]["failed"], 1);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["failure_classes"]["build"], 1);
    EXPECT_EQ(dayOf(answer, "2026-11-20")["total"], 1);
    std::uint64_t total = 0;
    for (const auto& d : answer["per_day"]) {
        total += d["total"].get<std::uint64_t>();
    }
    EXPECT_EQ(total, 3u);
}

TEST(StatsSummary, NearestRankIsAlwaysOneOfTheSamples) {
    auto none = summarize({});
    EXPECT_EQ(none.count, 0u);
    EXPECT_TRUE(summaryJson(none)["median_usec"].is_null());
    auto ten = summarize({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
    EXPECT_EQ(ten.count, 10u);
    EXPECT_EQ(ten.median, 5u);
    EXPECT_EQ(ten.p90, 9u);
    EXPECT_EQ(ten.max, 10u);
    auto two = summarize({40, 10});
    EXPECT_EQ(two.median, 10u);
    EXPECT_EQ(two.p90, 40u);
    auto one = summarize({7});
    EXPECT_EQ(one.median, 7u);
    EXPECT_EQ(one.p90, 7u);
    EXPECT_EQ(summaryJson(one),
              (json{{"count", 1}, {"median_usec", 7}, {"p90_usec", 7}, {"max_usec", 7}}));
}

TEST(StatsPart, WaitsAndDurationsPerTypeAndHost) {
    StatsPart part(statsWindow(14, kDec3 + kUsecPerDay - 1));
    part.add(build("a-1", "succeeded", kDec3, 2 * kSecond, 60 * kSecond));
    part.add(build("a-2", "failed", kDec3, 4 * kSecond, 30 * kSecond, "live", "infra"));
    part.add(build("a-3", "running", kDec3, 6 * kSecond));
    part.add(build("a-4", "queued", kDec3));
    auto answer = part.answerJson();
    EXPECT_EQ(dayOf(answer, "2026-12-03")["total"], 4);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["states"]["queued"], 1);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["failure_classes"], (json{{"infra", 1}}));
    EXPECT_EQ(dayOf(answer, "2026-12-03")["outcomes"],
              (json{{"succeeded", 1}, {"failed:infra", 1}, {"running", 1}, {"queued", 1}}));
    // Waits of every started build; durations of those that ended.
    EXPECT_EQ(answer["queue_wait"]["per_host"]["a"]["count"], 3);
    EXPECT_EQ(answer["queue_wait"]["per_host"]["a"]["median_usec"], 4 * kSecond);
    EXPECT_EQ(answer["queue_wait"]["per_type"]["oemdrv"]["max_usec"], 6 * kSecond);
    EXPECT_EQ(answer["duration"]["per_host"]["a"]["count"], 2);
    EXPECT_EQ(answer["duration"]["per_type"]["live"]["median_usec"], 30 * kSecond);
    EXPECT_EQ(answer["duration"]["per_type"]["oemdrv"]["max_usec"], 60 * kSecond);
    EXPECT_FALSE(answer.contains("samples"));
}

TEST(StatsPart, EmptyHistoryIsFourteenZeroDays) {
    StatsPart part(statsWindow(14, kDec3));
    part.answered("a");
    auto answer = part.answerJson();
    ASSERT_EQ(answer["per_day"].size(), 14u);
    for (const auto& d : answer["per_day"]) {
        EXPECT_EQ(d["total"], 0);
        EXPECT_EQ(d["states"], json::object());
    }
    EXPECT_EQ(answer["queue_wait"]["per_type"], json::object());
    EXPECT_EQ(answer["duration"]["per_host"], json::object());
    EXPECT_EQ(answer["hosts"], json::array({"a"}));
    EXPECT_EQ(answer["unreachable"], json::array());
}

TEST(StatsPart, PeersMergeExactlyFromTheirSamples) {
    auto window = statsWindow(14, kDec3 + 3600 * kSecond);
    // Host a: three quick builds; host b: two slow ones. The median of the
    // five is 3 s; the median of the two medians would be anything else.
    StatsPart a(window), b(window), fleet(window);
    for (std::uint64_t i = 1; i <= 3; ++i) {
        a.add(build("a-" + std::to_string(i), "succeeded", kDec3, 0, i * kSecond));
    }
    b.add(build("b-1", "succeeded", kDec3 - kUsecPerDay, 0, 100 * kSecond));
    b.add(build("b-2", "timed-out", kDec3, 0, 200 * kSecond, "oemdrv", "timeout"));
    a.answered("a");
    b.answered("b");
    b.unreachable("c");  // b's own view: its agent answered, a host it asked did not
    auto sentA = json::parse(a.partJson().dump());
    auto sentB = json::parse(b.partJson().dump());
    ASSERT_TRUE(sentA.contains("samples"));
    ASSERT_TRUE(fleet.merge(sentA));
    ASSERT_TRUE(fleet.merge(sentB));
    auto answer = fleet.answerJson();
    EXPECT_EQ(answer["duration"]["per_type"]["oemdrv"]["count"], 5);
    EXPECT_EQ(answer["duration"]["per_type"]["oemdrv"]["median_usec"], 3 * kSecond);
    EXPECT_EQ(answer["duration"]["per_type"]["oemdrv"]["max_usec"], 200 * kSecond);
    EXPECT_EQ(answer["duration"]["per_host"]["b"]["median_usec"], 100 * kSecond);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["total"], 4);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["states"]["timed-out"], 1);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["failure_classes"]["timeout"], 1);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["outcomes"]["timed-out:timeout"], 1);
    EXPECT_EQ(dayOf(answer, "2026-12-03")["outcomes"]["succeeded"], 3);
    EXPECT_EQ(dayOf(answer, "2026-12-02")["total"], 1);
    EXPECT_EQ(answer["hosts"], json::array({"a", "b"}));
    EXPECT_EQ(answer["unreachable"], json::array({"c"}));
}

TEST(StatsPart, APeerPartOfTheWrongShapeMergesNothing) {
    auto window = statsWindow(14, kDec3);
    StatsPart part(window), peer(window);
    peer.add(build("b-1", "succeeded", kDec3, 0, kSecond));
    auto bad = peer.partJson();
    bad["samples"][0]["duration_usec"] = json::array({"soon"});
    EXPECT_FALSE(part.merge(bad));
    EXPECT_FALSE(part.merge(json()));                       // no answer
    EXPECT_FALSE(part.merge(json{{"error", "NotFound"}}));  // an older peer
    EXPECT_EQ(dayOf(part.answerJson(), "2026-12-03")["total"], 0);
    EXPECT_EQ(part.answerJson()["duration"]["per_type"], json::object());
    // A day the asker does not have (the peer's clock is a day ahead) is left out.
    StatsPart ahead(statsWindow(14, kDec3 + kUsecPerDay));
    ahead.add(build("b-2", "succeeded", kDec3 + kUsecPerDay));
    EXPECT_TRUE(part.merge(ahead.partJson()));
    std::uint64_t total = 0;
    auto merged = part.answerJson();
    for (const auto& d : merged["per_day"]) {
        total += d["total"].get<std::uint64_t>();
    }
    EXPECT_EQ(total, 0u);
}

namespace {

// An agent that pages as the real one does (selectPage), and counts its calls.
class PagingAgent final : public LocalAgent {
public:
    std::vector<BuildInfo> builds;
    int calls = 0;
    bool down = false;

    std::string submit(const DbusSpec&) override { return ""; }
    std::vector<BuildInfo> list() override { return builds; }
    void listEach(const BuildListFilter& filter,
                  const std::function<void(BuildInfo&&)>& each) override {
        ++calls;
        if (down) {
            throw sdbus::Error("org.freedesktop.DBus.Error.ServiceUnknown", "no agent");
        }
        auto page = selectPage(filter, builds.size(), [&](std::size_t i) {
            return PageProbe{BuildId::parse(builds[i].id)->number, builds[i].submittedAt,
                             matches(filter, builds[i])};
        });
        for (auto i : page) {
            auto copy = builds[i];
            each(std::move(copy));
        }
    }
    BuildInfo get(const std::string&) override { return {}; }
    void cancel(const std::string&) override {}
    std::string retry(const std::string&, const std::string&) override { return {}; }
    std::string kickstart(const std::string&) override { return {}; }
    HostInfo host() override { return {}; }
};

struct StatsRoute : ::testing::Test {
    StatsRoute() : app(parseConfig("[forwarder]\n", "x"), TokenStore(), "h") {
        auto fake = std::make_unique<PagingAgent>();
        agent = fake.get();
        app.setAgent(std::move(fake));
        // A peer never probed: not healthy, so not asked, and named.
        app.setPeers(std::make_unique<Peers>(std::vector<std::string>{"http://127.0.0.1:9"},
                                             PeerOptions{}, nullptr));
        registerRoutes(app);
    }

    Response get(std::map<std::string, std::string> query = {}) {
        Request r;
        r.method = "GET";
        r.path = "/v1/stats";
        r.query = std::move(query);
        return app.dispatch(r);
    }

    App app;
    PagingAgent* agent = nullptr;
};

}  // namespace

TEST_F(StatsRoute, ALongHistoryIsReadPageByPageAndAPeerDownIsNamed) {
    auto now = realtimeUsec();
    // 2,500 builds in the last hours, and 10 from a month ago that never count.
    for (int i = 1; i <= 10; ++i) {
        agent->builds.push_back(build("h-" + std::to_string(i), "succeeded",
                                      now - 30 * kUsecPerDay + i * kSecond, kSecond, kSecond));
    }
    for (int i = 11; i <= 2510; ++i) {
        agent->builds.push_back(build("h-" + std::to_string(i), i % 5 ? "succeeded" : "failed",
                                      now - 3 * 3600 * kSecond + i * kSecond, kSecond, kSecond));
    }
    auto response = get();
    ASSERT_EQ(response.status, 200u) << response.body;
    auto answer = json::parse(response.body);
    std::uint64_t total = 0, failed = 0;
    for (const auto& d : answer["per_day"]) {
        total += d["total"].get<std::uint64_t>();
        failed += d["states"].value("failed", 0u);
    }
    EXPECT_EQ(total, 2500u);
    EXPECT_EQ(failed, 500u);
    EXPECT_EQ(agent->calls, 3);  // pages of 1,000
    EXPECT_EQ(answer["duration"]["per_host"]["h"]["count"], 2500);
    EXPECT_EQ(answer["hosts"], json::array({"h"}));
    EXPECT_EQ(answer["unreachable"], json::array({"http://127.0.0.1:9"}));
    EXPECT_FALSE(answer.contains("samples"));
}

TEST_F(StatsRoute, LocalScopeSendsSamplesAndBadDaysAreRefused) {
    auto now = realtimeUsec();
    agent->builds.push_back(build("h-1", "succeeded", now - kSecond, 0, 0));
    auto answer = json::parse(get({{"scope", "local"}, {"days", "3"}}).body);
    EXPECT_EQ(answer["days"], 3);
    EXPECT_EQ(answer["per_day"].size(), 3u);
    ASSERT_EQ(answer["samples"].size(), 1u);
    EXPECT_EQ(answer["samples"][0]["duration_usec"], json::array({0}));
    EXPECT_EQ(answer["unreachable"], json::array());  // the peer is not asked
    for (const char* bad : {"0", "91", "two", "-1", "14x"}) {
        auto refused = get({{"days", bad}});
        EXPECT_EQ(refused.status, 400u) << bad;
        EXPECT_EQ(json::parse(refused.body)["error"], "InvalidQuery");
    }
}

TEST_F(StatsRoute, AnAgentDownIsNamedNotFatal) {
    agent->down = true;
    auto response = get({{"scope", "local"}});
    ASSERT_EQ(response.status, 200u) << response.body;
    EXPECT_EQ(json::parse(response.body)["unreachable"], json::array({"h"}));
}
