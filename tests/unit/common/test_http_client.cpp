// common/http_client.hpp against a scripted server on a loopback socket of
// this process: what goes on the wire, keep-alive reuse, a pooled connection
// the server closed, deadlines, streamed bodies, refused addresses, and one
// asynchronous request. The callers' own tests (ctl's HTTP backend, the
// webhook, the forwarder's peers) test what they make of it.
#include "common/http_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.hpp"
#include "tests/unit/common/scripted_server.hpp"

using namespace imagebuild;
using namespace imagebuild::testing;
using namespace std::chrono_literals;

namespace {

HttpRequest get(const std::string& target) {
    HttpRequest r;
    r.target = target;
    return r;
}

HttpClientOptions pooled() {
    HttpClientOptions o;
    o.userAgent = "test/1";
    o.maxIdle = 4;
    return o;
}

}  // namespace

TEST(HttpClient, SendsTheRequestAndReadsTheAnswer) {
    std::string seen;
    ScriptedServer server([&seen](int fd) {
        seen = readRequest(fd, 7);
        answer(fd, "{\"ok\":1}");
    });
    auto options = pooled();
    options.maxIdle = 0;
    options.bearerToken = "s3cret";
    HttpClient client(server.url(), options);
    auto response = client.request(
        {"POST", "/v1/x?a=b", "{\"a\":1}", "application/json", {{"X-Extra", "yes"}}}, 2000ms);
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.reason, "OK");
    EXPECT_EQ(response.contentType, "application/json");
    EXPECT_EQ(response.body, "{\"ok\":1}");
    EXPECT_EQ(header(response, "ETag"), "\"x\"");
    EXPECT_EQ(seen.rfind("POST /v1/x?a=b HTTP/1.1\r\n", 0), 0u) << seen;
    for (const auto* line :
         {"Host: 127.0.0.1:", "User-Agent: test/1\r\n", "Authorization: Bearer s3cret\r\n",
          "Content-Type: application/json\r\n", "Content-Length: 7\r\n", "X-Extra: yes\r\n",
          "Connection: close\r\n", "\r\n\r\n{\"a\":1}"}) {
        EXPECT_NE(seen.find(line), std::string::npos) << line << " in " << seen;
    }
}

TEST(HttpClient, AHeaderOfTheRequestReplacesTheClientsOwn) {
    std::string seen;
    ScriptedServer server([&seen](int fd) {
        seen = readRequest(fd);
        answer(fd, "{}");
    });
    auto options = pooled();
    options.bearerToken = "fleet";
    HttpClient client(server.url(), options);
    client.request({"GET", "/", "", "", {{"authorization", "Bearer user"}}}, 2000ms);
    EXPECT_NE(seen.find("Bearer user"), std::string::npos) << seen;
    EXPECT_EQ(seen.find("Bearer fleet"), std::string::npos) << seen;
}

TEST(HttpClient, KeepAliveConnectionIsReused) {
    ScriptedServer server([](int fd) {
        for (int n = 0; !readRequest(fd).empty(); ++n) {
            answer(fd, "{\"n\":" + std::to_string(n) + "}");
        }
    });
    HttpClient client(server.url(), pooled());
    for (int n = 0; n < 3; ++n) {
        auto response = client.request(get("/v1/health"), 2000ms);
        EXPECT_EQ(response.status, 200u);
        EXPECT_EQ(response.body, "{\"n\":" + std::to_string(n) + "}");
    }
    EXPECT_EQ(server.accepted(), 1);
}

// With maxOpen, threads calling at once share that many connections, the
// others waiting for one to come free. This server serves one connection
// at a time: a connection per thread would leave two unanswered.
TEST(HttpClient, ThreadsPastMaxOpenWaitForAConnection) {
    ScriptedServer server([](int fd) {
        while (!readRequest(fd).empty()) {
            std::this_thread::sleep_for(100ms);  // the other threads call meanwhile
            answer(fd, "{}");
        }
    });
    auto options = pooled();
    options.maxOpen = 1;
    HttpClient client(server.url(), options);
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
        threads.emplace_back([&] {
            try {
                answered += client.request(get("/"), 2000ms).status == 200u;
            } catch (const HttpError& e) {
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(answered, 3);
    EXPECT_EQ(server.accepted(), 1);
}

// A request that waited for a connection until its timeout fails as a
// connect timeout, saying why.
TEST(HttpClient, ARequestWaitingPastItsTimeoutForAConnectionTimesOut) {
    ScriptedServer server(neverAnswers);
    auto options = pooled();
    options.maxOpen = 1;
    HttpClient client(server.url(), options);
    std::thread first([&] { EXPECT_THROW(client.request(get("/a"), 1000ms), HttpError); });
    while (server.accepted() == 0) {
        std::this_thread::sleep_for(1ms);
    }
    try {
        client.request(get("/b"), 200ms);
        ADD_FAILURE() << "answered";
    } catch (const HttpError& e) {
        EXPECT_TRUE(e.timedOut());
        EXPECT_TRUE(e.busy());
        EXPECT_EQ(e.step(), HttpStep::Connect);
        EXPECT_NE(std::string(e.what()).find("were busy"), std::string::npos) << e.what();
    }
    first.join();
}

TEST(HttpClient, WithoutAPoolEachRequestHasItsOwnConnection) {
    ScriptedServer server(answersEveryRequest);
    auto options = pooled();
    options.maxIdle = 0;
    HttpClient client(server.url(), options);
    client.request(get("/a"), 2000ms);
    client.request(get("/b"), 2000ms);
    EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, ConnectionClosedByTheServerIsRetriedOnAFreshOne) {
    ScriptedServer server(answersOneRequest);
    HttpClient client(server.url(), pooled());
    EXPECT_EQ(client.request(get("/a"), 2000ms).status, 200u);
    std::this_thread::sleep_for(50ms);  // the server has closed the pooled connection
    EXPECT_EQ(client.request(get("/b"), 2000ms).status, 200u);
    EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, AServerThatNeverAnswersTimesOut) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        char c;
        (void)read(fd, &c, 1);  // until the client gives up and closes
    });
    HttpClient client(server.url(), pooled());
    // Without the deadline this would wait forever (and meson's timeout fail it).
    try {
        client.request(get("/slow"), 300ms);
        FAIL() << "no HttpError";
    } catch (const HttpError& e) {
        EXPECT_EQ(e.step(), HttpStep::Receive);
        EXPECT_TRUE(e.timedOut());
        EXPECT_EQ(std::string(e.what()).rfind("reading the response: ", 0), 0u) << e.what();
    }
}

TEST(HttpClient, NobodyListeningIsAConnectError) {
    HttpUrl url;
    {
        ScriptedServer server([](int) {});
        url = server.url();
    }
    HttpClient client(url, pooled());
    try {
        client.request(get("/"), 500ms);
        FAIL() << "no HttpError";
    } catch (const HttpError& e) {
        EXPECT_EQ(e.step(), HttpStep::Connect);
        EXPECT_FALSE(e.timedOut());
        EXPECT_STREQ(e.what(), "connecting: Connection refused");
    }
}

// A request on a reused connection that the server took but never answered
// is not sent again: the server may have acted on it (a POST submits a build).
TEST(HttpClient, TimeoutOnAReusedConnectionIsNotRetried) {
    std::atomic<int> requests{0};
    ScriptedServer server(answersOnceThenHangs(requests));
    HttpClient client(server.url(), pooled());
    EXPECT_EQ(client.request(get("/first"), 2000ms).status, 200u);
    EXPECT_THROW(client.request(get("/second"), 300ms), HttpError);
    EXPECT_EQ(requests.load(), 2);
    EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClient, AStreamHandsOnTheBodyAsItArrives) {
    std::atomic<bool> secondPiece{false};
    ScriptedServer server([&secondPiece](int fd) {
        readRequest(fd);
        send(fd,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\nline 1\r\n");
        while (!secondPiece) {
            std::this_thread::sleep_for(5ms);
        }
        send(fd, "6\r\nline 2\r\n0\r\n\r\n");
    });
    HttpClient client(server.url(), pooled());
    auto stream = client.stream(get("/monitor/a-1"), 2000ms, kNoTimeout);
    EXPECT_EQ(stream->head().status, 200u);
    EXPECT_EQ(stream->head().contentType, "text/plain");
    EXPECT_EQ(stream->head().contentLength, UINT64_MAX);
    char buffer[64];
    // The first piece arrives while the server still holds the second.
    EXPECT_EQ(std::string(buffer, stream->read(buffer, sizeof buffer)), "line 1");
    secondPiece = true;
    EXPECT_EQ(std::string(buffer, stream->read(buffer, sizeof buffer)), "line 2");
    EXPECT_EQ(stream->read(buffer, sizeof buffer), 0u);
}

TEST(HttpClient, AStreamThatFallsSilentTimesOutAfterItsIdleTimeout) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
        char c;
        (void)read(fd, &c, 1);  // until the client gives up and closes
    });
    HttpClient client(server.url(), pooled());
    auto stream = client.stream(get("/artifacts/a-1/x.iso"), 2000ms, 200ms);
    EXPECT_EQ(stream->head().contentLength, 100u);
    char buffer[64];
    EXPECT_EQ(std::string(buffer, stream->read(buffer, sizeof buffer)), "abc");
    try {
        stream->read(buffer, sizeof buffer);
        FAIL() << "no HttpError";
    } catch (const HttpError& e) {
        EXPECT_EQ(e.step(), HttpStep::Receive);
        EXPECT_TRUE(e.timedOut());
    }
}

TEST(HttpClient, ARefusedAddressIsNeverConnectedTo) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        answer(fd, "{}");
    });
    auto options = pooled();
    options.refuseAddress = [](const boost::asio::ip::address& a) {
        return a.to_string() + " is not for us";
    };
    HttpClient client(server.url(), options);
    try {
        client.request(get("/"), 2000ms);
        FAIL() << "no HttpError";
    } catch (const HttpError& e) {
        EXPECT_TRUE(e.refused());
        EXPECT_EQ(e.detail(), "127.0.0.1 is not for us");
    }
    EXPECT_EQ(server.accepted(), 0);
}

TEST(HttpClient, AsynchronousRequestsRunOnTheCallersLoop) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        answer(fd, "{\"hostname\":\"b\"}");
    });
    boost::asio::io_context io;
    std::string body;
    std::string error;
    asyncHttpRequest(io, server.url(), get("/v1/health"), pooled(), 2000ms,
                     [&](const HttpResponse* response, const HttpError* e) {
                         body = response ? response->body : "";
                         error = e ? e->what() : "";
                     });
    io.run();
    EXPECT_EQ(body, "{\"hostname\":\"b\"}");
    EXPECT_EQ(error, "");
}

TEST(HttpClient, AnAsynchronousRequestEndsAtItsDeadline) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        char c;
        (void)read(fd, &c, 1);  // until the client gives up and closes
    });
    boost::asio::io_context io;
    std::string error;
    bool timedOut = false;
    asyncHttpRequest(io, server.url(), get("/v1/health"), pooled(), 200ms,
                     [&](const HttpResponse*, const HttpError* e) {
                         ASSERT_NE(e, nullptr);
                         error = e->detail();
                         timedOut = e->timedOut();
                     });
    io.run();
    EXPECT_TRUE(timedOut);
    EXPECT_EQ(error, "no answer within 200 ms");
}
