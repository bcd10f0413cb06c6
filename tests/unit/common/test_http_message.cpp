// common/http_message.hpp: the request bytes built by hand are the bytes
// Beast writes for the same request, whatever the caller's fields replace.
#include "common/http_message.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>

using namespace imagebuild;

namespace {

namespace http = boost::beast::http;

// The oracle: the request as Beast builds it (what HttpClient sent before it
// sent httpRequestBytes too).
http::request<http::string_body> beastRequest(const HttpRequest& r, const HttpUrl& url,
                                              const HttpClientOptions& options, bool keepAlive) {
    http::request<http::string_body> req;
    req.method_string(r.method);
    req.target(r.target);
    req.version(11);
    req.set(http::field::host, url.hostHeader());
    req.set(http::field::user_agent, options.userAgent);
    req.keep_alive(keepAlive);
    if (!options.bearerToken.empty()) {
        req.set(http::field::authorization, "Bearer " + options.bearerToken);
    }
    for (const auto& [name, value] : r.headers) {
        req.set(name, value);
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
        if (!r.contentType.empty()) {
            req.set(http::field::content_type, r.contentType);
        }
        req.body() = r.body;
        req.prepare_payload();
    }
    return req;
}

std::string beastBytes(const HttpRequest& request, const HttpUrl& url,
                       const HttpClientOptions& options, bool keepAlive) {
    std::ostringstream out;
    out << beastRequest(request, url, options, keepAlive);
    return out.str();
}

void expectSameBytes(const HttpRequest& request, const HttpClientOptions& options, bool keepAlive) {
    auto url = *parseHttpUrl("http://peer.example:8470");
    auto ours = httpRequestBytes(request, url, options, keepAlive);
    EXPECT_EQ(ours, beastBytes(request, url, options, keepAlive));
    EXPECT_EQ(ours.rfind(request.method + " " + request.target + " HTTP/1.1\r\n", 0), 0u) << ours;
}

}  // namespace

TEST(HttpMessage, AGetIsTheBytesBeastWrites) {
    HttpRequest get;
    get.target = "/v1/builds/b-1?x=1%202";
    get.headers = {{"X-Imagebuild-Forwarded", "1"}, {"accept", "application/json"}};
    for (bool keepAlive : {true, false}) {
        expectSameBytes(get, {"imagebuild-forwarder", "fleet", 4, 0, nullptr}, keepAlive);
        expectSameBytes(get, {"imagebuildctl/1", "", 0, 0, nullptr}, keepAlive);
    }
}

TEST(HttpMessage, TheCallersFieldsReplaceTheClientsOwn) {
    HttpRequest get;
    get.method = "HEAD";
    get.target = "/";
    get.headers = {
        {"authorization", "Bearer mine"}, {"User-Agent", "other"}, {"range", "bytes=1-"}};
    HttpClientOptions options{"imagebuild-forwarder", "fleet", 4, 0, nullptr};
    expectSameBytes(get, options, true);
    auto bytes = httpRequestBytes(get, *parseHttpUrl("http://h"), options, true);
    EXPECT_EQ(bytes.find("fleet"), std::string::npos) << bytes;
    EXPECT_NE(bytes.find("\r\nauthorization: Bearer mine\r\n"), std::string::npos) << bytes;
}

TEST(HttpMessage, ABodyHasItsTypeAndLength) {
    HttpRequest post;
    post.method = "POST";
    post.target = "/v1/builds";
    post.body = R"({"arch":"x86_64"})";
    post.contentType = "application/json";
    expectSameBytes(post, {"imagebuildctl/1", "t", 0, 0, nullptr}, false);
    post.body.clear();  // an empty POST still says its length
    expectSameBytes(post, {"imagebuildctl/1", "t", 0, 0, nullptr}, false);
    HttpRequest put;
    put.method = "PUT";
    put.target = "/x";
    put.body = "abc";
    expectSameBytes(put, {"a", "", 0, 0, nullptr}, true);
}
