// imagebuildctl -H against a stand-in forwarder on loopback: one canned
// answer per request, every request recorded, so the tests check what goes
// over the wire (paths, token, body) and what the client makes of answers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/build_json.hpp"
#include "ctl/backend.hpp"
#include "ctl/ctl_error.hpp"

using namespace imagebuild;
using namespace imagebuild::ctl;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;

namespace {

struct Canned {
    unsigned status;
    std::string body;
};

class StandInForwarder {
public:
    explicit StandInForwarder(std::deque<Canned> answers)
        : acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
          answers_(std::move(answers)) {
        thread_ = std::thread([this] { serve(); });
    }
    ~StandInForwarder() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    // Waits until every canned answer went out; then the requests are ours.
    std::vector<http::request<http::string_body>> requests() {
        thread_.join();
        return requests_;
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }

private:
    void serve() {
        while (!answers_.empty()) {
            tcp::socket socket(io_);
            acceptor_.accept(socket);
            boost::beast::flat_buffer buffer;
            http::request<http::string_body> req;
            http::read(socket, buffer, req);
            requests_.push_back(req);
            auto answer = answers_.front();
            answers_.pop_front();
            http::response<http::string_body> res{static_cast<http::status>(answer.status), 11};
            res.set(http::field::content_type, "application/json");
            res.body() = answer.body;
            res.prepare_payload();
            http::write(socket, res);
            boost::system::error_code ignored;
            socket.shutdown(tcp::socket::shutdown_both, ignored);
        }
    }

    boost::asio::io_context io_;
    tcp::acceptor acceptor_;
    std::deque<Canned> answers_;
    std::vector<http::request<http::string_body>> requests_;
    std::thread thread_;
};

std::string buildJson(const std::string& id, const std::string& state) {
    BuildInfo info;
    info.id = id;
    info.host = "b";
    info.state = state;
    info.type = "oemdrv";
    info.monitorUrl = "http://b:8080/monitor/" + id;
    return nlohmann::json(info).dump();
}

int exitCodeOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const CtlError& e) {
        return e.exitCode();
    }
    return 0;
}

}  // namespace

TEST(CtlHttp, SubmitPostsTheSpecWithTheToken) {
    BuildInfo info;
    StandInForwarder forwarder({{201, buildJson("b-7", "queued")}});
    BuildSpec request;
    request.type = "oemdrv";
    request.arch = "x86_64";
    request.release = "39";
    request.kickstart = "lang en_US\n";
    request.labels = {{"team", "qa"}};
    info = makeHttpBackend(forwarder.url(), "s3cret")->submit(request);
    auto seen = forwarder.requests();
    EXPECT_EQ(info.id, "b-7");
    EXPECT_EQ(info.monitorUrl, "http://b:8080/monitor/b-7");
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method(), http::verb::post);
    EXPECT_EQ(seen[0].target(), "/v1/builds");
    EXPECT_EQ(seen[0][http::field::authorization], "Bearer s3cret");
    auto body = nlohmann::json::parse(seen[0].body());
    EXPECT_EQ(body["type"], "oemdrv");
    EXPECT_EQ(body["kickstart"], "lang en_US\n");
    EXPECT_EQ(body["labels"]["team"], "qa");
    EXPECT_FALSE(body.contains("timeout_sec"));
}

namespace {

nlohmann::json page(std::vector<std::string> ids, nlohmann::json next,
                    std::vector<std::string> unreachable = {}) {
    auto builds = nlohmann::json::array();
    for (const auto& id : ids) {
        builds.push_back(nlohmann::json::parse(buildJson(id, "running")));
    }
    return {{"builds", builds}, {"unreachable", unreachable}, {"next_cursor", next}};
}

}  // namespace

TEST(CtlHttp, ListPagesThroughEveryBuildFollowingTheCursor) {
    ListResult result;
    {
        StandInForwarder forwarder({{200, page({"a-1", "b-2"}, "100.b-2", {"c"}).dump()},
                                    {200, page({"a-3"}, nullptr, {"c", "d"}).dump()}});
        result = makeHttpBackend(forwarder.url(), "")->list({"queued", "running"});
        auto seen = forwarder.requests();
        ASSERT_EQ(seen.size(), 2u);
        // The server filters, a page of 1000 at a time from the oldest on.
        EXPECT_EQ(seen[0].target(), "/v1/builds?order=oldest&limit=1000&state=queued%2Crunning");
        EXPECT_EQ(seen[1].target(),
                  "/v1/builds?order=oldest&limit=1000&state=queued%2Crunning&cursor=100.b-2");
        EXPECT_EQ(seen[0].count(http::field::authorization), 0u);
    }
    std::vector<std::string> ids;
    for (const auto& b : result.builds) {
        ids.push_back(b.id);
    }
    EXPECT_THAT(ids, ::testing::ElementsAre("a-1", "b-2", "a-3"));
    EXPECT_THAT(result.unreachable, ::testing::ElementsAre("c", "d"));
}

TEST(CtlHttp, TheNewestNAreAskedNewestFirstAndListedOldestFirst) {
    std::vector<std::string> ids;
    StandInForwarder forwarder({{200, page({"a-9", "a-8"}, "100.a-8").dump()}});
    makeHttpBackend(forwarder.url(), "")
        ->listEach(
            {}, [&ids](BuildInfo&& b) { ids.push_back(b.id); }, 2);
    EXPECT_EQ(forwarder.requests().at(0).target(), "/v1/builds?order=newest&limit=2");
    EXPECT_THAT(ids, ::testing::ElementsAre("a-8", "a-9"));
}

TEST(CtlHttp, ErrorBodiesMapToExitCodesAndSentences) {
    StandInForwarder forwarder(
        {{404, R"({"error":"NotFound","message":"no build b-9"})"},
         {401, R"({"error":"unauthorized","message":"token missing"})"},
         {503, R"({"error":"unreachable","message":"host b is down"})"},
         {503, R"({"error":"QueueFull","message":"2 builds are queued already"})"},
         {204, ""}});
    auto backend = makeHttpBackend(forwarder.url(), "");
    try {
        backend->get("b-9");
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_EQ(e.exitCode(), kExitNotFound);
        EXPECT_STREQ(e.what(), "Not found: no build b-9");
    }
    EXPECT_EQ(exitCodeOf([&] { backend->list({}); }), kExitAccessDenied);
    EXPECT_EQ(exitCodeOf([&] { backend->get("b-1"); }), kExitUnreachable);
    // A 503 the error table names otherwise is what it names: as on the bus.
    EXPECT_EQ(exitCodeOf([&] { backend->get("b-1"); }), kExitFailure);
    EXPECT_EQ(exitCodeOf([&] { backend->cancel("b-1"); }), kExitOk);
}

TEST(CtlHttp, CancelIsADeleteOfTheBuild) {
    StandInForwarder forwarder({{204, ""}});
    makeHttpBackend(forwarder.url() + "/", "")->cancel("b-3");
    auto seen = forwarder.requests();
    EXPECT_EQ(seen.at(0).method(), http::verb::delete_);
    EXPECT_EQ(seen.at(0).target(), "/v1/builds/b-3");
}

TEST(CtlHttp, LogStreamsTheMonitorText) {
    std::string text;
    {
        StandInForwarder forwarder({{200, "line one\nline two\n"}});
        makeHttpBackend(forwarder.url(), "")
            ->streamLog("b-3", false, [&text](std::string_view chunk) { text.append(chunk); });
        EXPECT_EQ(forwarder.requests().at(0).target(), "/monitor/b-3");
    }
    EXPECT_EQ(text, "line one\nline two\n");
}

TEST(CtlHttp, UnreachableForwarderIsExit5NamingIt) {
    boost::asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    auto port = probe.local_endpoint().port();
    probe.close();  // nothing listens there now
    auto url = "http://127.0.0.1:" + std::to_string(port);
    try {
        makeHttpBackend(url, "")->list({});
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_EQ(e.exitCode(), kExitUnreachable);
        EXPECT_THAT(e.what(), HasSubstr(url));
    }
}

TEST(CtlHttp, OnlyPlainHttpUrls) {
    EXPECT_EQ(exitCodeOf([] { makeHttpBackend("https://b:8443", ""); }), kExitUsage);
    EXPECT_EQ(exitCodeOf([] { makeHttpBackend("http://", ""); }), kExitUsage);
    EXPECT_EQ(exitCodeOf([] { makeHttpBackend("ftp://b", ""); }), kExitUsage);
    EXPECT_EQ(exitCodeOf([] { makeHttpBackend("http://b:99999", ""); }), kExitUsage);
    EXPECT_EQ(exitCodeOf([] { makeHttpBackend("http://u@b:8080", ""); }), kExitUsage);
    EXPECT_EQ(exitCodeOf([] { makeHttpBackend("http://[::1:8080", ""); }), kExitUsage);
    EXPECT_EQ(exitCodeOf([] { makeHttpBackend("http://[::1]:8080", ""); }), kExitOk);
    try {
        makeHttpBackend("http://b:port", "");
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_THAT(e.what(), HasSubstr("-H http://b:port: the port must be a number"));
    }
}

TEST(CtlHttp, AUrlWithoutSchemeIsHttpAndAPathIsAPrefix) {
    StandInForwarder forwarder({{204, ""}, {204, ""}});
    auto bare = forwarder.url().substr(std::string("http://").size());  // 127.0.0.1:PORT
    makeHttpBackend(bare, "")->cancel("b-3");
    makeHttpBackend(forwarder.url() + "/imagebuild//", "")->cancel("b-4");
    auto seen = forwarder.requests();
    EXPECT_EQ(seen.at(0).target(), "/v1/builds/b-3");
    EXPECT_EQ(seen.at(1).target(), "/imagebuild/v1/builds/b-4");
    EXPECT_EQ(seen.at(0)[http::field::host], bare);
}
