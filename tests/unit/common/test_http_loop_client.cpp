// common/http_loop_client.hpp driven by an epoll loop of the test's own,
// against a scripted server on a loopback socket: the bytes sent, answers
// with a length, chunked, without a length and to a HEAD, keep-alive reuse,
// a pooled connection the server closed, deadlines, refused connections and
// bytes that are not HTTP; and `done` never called from inside start().
#include "common/http_loop_client.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/http_message.hpp"
#include "tests/unit/common/scripted_server.hpp"

using namespace imagebuild;
using namespace imagebuild::testing;
using namespace std::chrono_literals;

namespace {

struct Outcome {
    std::optional<HttpResponse> response;
    std::optional<HttpError> error;
};

// The test's loop: an epoll set, the client on it, and a way to run one
// exchange to its end.
class Loop {
public:
    explicit Loop(std::size_t maxOpen = 0)
        : epoll_(epoll_create1(EPOLL_CLOEXEC)), client_(epoll_.get(), {2, 1 << 20, maxOpen}) {}

    HttpLoopClient& client() { return client_; }

    // Starts the request and runs the loop until its `done` was called (or 5 s).
    Outcome run(const HttpUrl& url, const std::string& target, const std::string& method = "GET",
                std::chrono::milliseconds timeout = 2000ms) {
        Outcome outcome;
        bool ended = false;
        client_.start(requestTo(url, target, method, timeout),
                      [&](const HttpResponse* response, const HttpError* error) {
                          ended = true;
                          if (response) {
                              outcome.response = *response;
                          } else {
                              outcome.error = *error;
                          }
                      });
        EXPECT_FALSE(ended) << "done called from inside start()";
        auto giveUp = std::chrono::steady_clock::now() + 5s;
        while (!ended && std::chrono::steady_clock::now() < giveUp) {
            turn(20);
        }
        EXPECT_TRUE(ended) << "no end within 5 s";
        return outcome;
    }

    // One turn of the loop: events (waiting at most `ms`), deadlines, ends.
    void turn(int ms) {
        epoll_event events[8];
        int n = epoll_wait(epoll_.get(), events, 8, client_.hasEnded() ? 0 : ms);
        for (int i = 0; i < n; ++i) {
            EXPECT_TRUE(client_.handle(events[i].data.fd, events[i].events));
        }
        client_.expire(std::chrono::steady_clock::now());
        client_.deliver();
    }

    static HttpLoopRequest requestTo(const HttpUrl& url, const std::string& target,
                                     const std::string& method, std::chrono::milliseconds timeout) {
        HttpLoopRequest request;
        auto* address = reinterpret_cast<sockaddr_in*>(&request.address);
        address->sin_family = AF_INET;
        address->sin_port = htons(static_cast<unsigned short>(std::stoi(url.port)));
        address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        request.length = sizeof(sockaddr_in);
        HttpRequest http;
        http.method = method;
        http.target = target;
        http.headers.emplace_back("X-Test", "1");
        request.bytes = httpRequestBytes(http, url, {"test/1", "secret", 0, 0, nullptr}, true);
        request.headOnly = method == "HEAD";
        request.timeout = timeout;
        return request;
    }

private:
    UniqueFd epoll_;
    HttpLoopClient client_;
};

}  // namespace

TEST(HttpLoopClient, SendsHttpClientsBytesAndReadsTheAnswer) {
    std::string seen;
    ScriptedServer server([&seen](int fd) {
        seen = readRequest(fd);
        answer(fd, R"({"ok":true})");
    });
    Loop loop;
    auto outcome = loop.run(server.url(), "/v1/builds/a-1?x=1");
    ASSERT_TRUE(outcome.response) << outcome.error->what();
    EXPECT_EQ(outcome.response->status, 200u);
    EXPECT_EQ(outcome.response->contentType, "application/json");
    EXPECT_EQ(outcome.response->body, R"({"ok":true})");
    EXPECT_EQ(header(*outcome.response, "ETag"), "\"x\"");
    EXPECT_EQ(seen.rfind("GET /v1/builds/a-1?x=1 HTTP/1.1\r\n", 0), 0u) << seen;
    EXPECT_NE(seen.find("\r\nAuthorization: Bearer secret\r\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("\r\nX-Test: 1\r\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("\r\nUser-Agent: test/1\r\n"), std::string::npos) << seen;
}

// The fields are read into the call's own bytes while they fit; an answer
// with more (here 6 KiB of them) is read whole all the same.
TEST(HttpLoopClient, AnAnswerWithMoreFieldsThanTheCallHoldsIsReadWhole) {
    std::string fields;
    for (int i = 0; i < 60; ++i) {
        fields += "X-Field-" + std::to_string(i) + ": " +
                  std::string(90, static_cast<char>('a' + i % 26)) + "\r\n";
    }
    ScriptedServer server([&fields](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + fields +
                     "Content-Length: 2\r\n\r\nok");
    });
    Loop loop;
    auto outcome = loop.run(server.url(), "/");
    ASSERT_TRUE(outcome.response) << outcome.error->what();
    EXPECT_EQ(outcome.response->body, "ok");
    EXPECT_EQ(outcome.response->contentType, "text/plain");
    EXPECT_EQ(outcome.response->headers.size(), 61u);  // 60 and Content-Length
    EXPECT_EQ(header(*outcome.response, "X-Field-59"), std::string(90, 'h'));
}

TEST(HttpLoopClient, KeepAliveConnectionIsReused) {
    ScriptedServer server(answersEveryRequest);
    Loop loop;
    EXPECT_TRUE(loop.run(server.url(), "/a").response);
    EXPECT_EQ(loop.client().idle(), 1u);
    EXPECT_TRUE(loop.run(server.url(), "/b").response);
    EXPECT_TRUE(loop.run(server.url(), "/c").response);
    EXPECT_EQ(server.accepted(), 1);
    EXPECT_EQ(loop.client().inFlight(), 0u);
}

// Past maxOpenPerAddress a request waits for a connection to come free, in
// order. This server serves one connection at a time: three connections
// at once would leave two unanswered until they time out.
TEST(HttpLoopClient, RequestsPastTheCapWaitForAConnection) {
    ScriptedServer server(answersEveryRequest);
    Loop loop(1);
    std::vector<std::string> order;
    for (const char* target : {"/a", "/b", "/c"}) {
        loop.client().start(
            Loop::requestTo(server.url(), target, "GET", 2000ms),
            [&order, target](const HttpResponse* response, const HttpError* error) {
                order.push_back(response ? target : std::string("error: ") + error->what());
            });
    }
    EXPECT_EQ(loop.client().inFlight(), 1u);
    EXPECT_EQ(loop.client().waiting(), 2u);
    auto giveUp = std::chrono::steady_clock::now() + 5s;
    while (order.size() < 3 && std::chrono::steady_clock::now() < giveUp) {
        loop.turn(20);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"/a", "/b", "/c"}));
    EXPECT_EQ(server.accepted(), 1);
}

// A request that waited for a connection until its deadline fails as a
// timeout, saying why.
TEST(HttpLoopClient, ARequestWaitingPastItsDeadlineTimesOut) {
    ScriptedServer server(neverAnswers);
    Loop loop(1);
    auto first = std::make_shared<Outcome>();
    loop.client().start(
        Loop::requestTo(server.url(), "/a", "GET", 2000ms),
        [first](const HttpResponse*, const HttpError* error) { first->error = *error; });
    auto second = loop.run(server.url(), "/b", "GET", 200ms);
    ASSERT_TRUE(second.error);
    EXPECT_TRUE(second.error->timedOut());
    EXPECT_TRUE(second.error->busy());
    EXPECT_NE(std::string(second.error->what()).find("came free"), std::string::npos)
        << second.error->what();
    // The first ends in turn (its connection closes, nobody waits any more),
    // and the client goes on.
    auto giveUp = std::chrono::steady_clock::now() + 5s;
    while (!first->error && std::chrono::steady_clock::now() < giveUp) {
        loop.turn(20);
    }
    ASSERT_TRUE(first->error);
    EXPECT_TRUE(first->error->timedOut());
    EXPECT_FALSE(first->error->busy());  // the server's silence, not our cap
    EXPECT_EQ(loop.client().waiting(), 0u);
}

TEST(HttpLoopClient, APooledConnectionTheServerClosedIsRetriedOnAFreshOne) {
    ScriptedServer server(answersOneRequest);
    Loop loop;
    EXPECT_TRUE(loop.run(server.url(), "/a").response);
    std::this_thread::sleep_for(50ms);  // closed by the server; the loop has not looked
    auto second = loop.run(server.url(), "/b");
    ASSERT_TRUE(second.response) << second.error->what();
    EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpLoopClient, AnIdleConnectionTheServerClosesIsDropped) {
    ScriptedServer server([](int fd) {
        if (!readRequest(fd).empty()) {
            answer(fd, "{}");
            std::this_thread::sleep_for(100ms);  // closed once the client has parked it
        }
    });
    Loop loop;
    EXPECT_TRUE(loop.run(server.url(), "/a").response);
    EXPECT_EQ(loop.client().idle(), 1u);
    // The server's close wakes the loop, which closes its end.
    for (int i = 0; i < 100 && loop.client().idle() != 0; ++i) {
        loop.turn(20);
    }
    EXPECT_EQ(loop.client().idle(), 0u);
}

TEST(HttpLoopClient, AChunkedAnswerIsReadWhole) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        send(fd,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
        send(fd, "5\r\nhello\r\n");
        std::this_thread::sleep_for(20ms);  // a second read, a chunk cut in two
        send(fd, "6\r\n wo");
        send(fd, "rld\r\n0\r\n\r\n");
    });
    Loop loop;
    auto outcome = loop.run(server.url(), "/");
    ASSERT_TRUE(outcome.response) << outcome.error->what();
    EXPECT_EQ(outcome.response->body, "hello world");
}

TEST(HttpLoopClient, AnAnswerWithoutALengthEndsWithTheConnection) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        send(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
    });
    Loop loop;
    auto outcome = loop.run(server.url(), "/");
    ASSERT_TRUE(outcome.response) << outcome.error->what();
    EXPECT_EQ(outcome.response->body, "all of it");
    EXPECT_EQ(loop.client().idle(), 0u);  // never reused
}

TEST(HttpLoopClient, AnswerToAHeadHasNoBody) {
    ScriptedServer server([](int fd) {
        while (!readRequest(fd).empty()) {
            send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        }
    });
    Loop loop;
    auto outcome = loop.run(server.url(), "/", "HEAD");
    ASSERT_TRUE(outcome.response) << outcome.error->what();
    EXPECT_EQ(outcome.response->body, "");
    EXPECT_EQ(loop.client().idle(), 1u);
}

TEST(HttpLoopClient, AServerThatNeverAnswersTimesOut) {
    ScriptedServer server([](int fd) {
        readRequest(fd);
        char c;
        (void)read(fd, &c, 1);  // until the client gives up and closes
    });
    Loop loop;
    auto outcome = loop.run(server.url(), "/slow", "GET", 200ms);
    ASSERT_TRUE(outcome.error);
    EXPECT_TRUE(outcome.error->timedOut());
    EXPECT_EQ(outcome.error->step(), HttpStep::Receive);
    EXPECT_STREQ(outcome.error->what(), "reading the response: no answer within 200 ms");
    EXPECT_EQ(loop.client().inFlight(), 0u);
}

// As HttpClient: the server may have acted on a request it took and never
// answered, so a timeout is not tried again.
TEST(HttpLoopClient, ATimeoutOnAReusedConnectionIsNotRetried) {
    std::atomic<int> requests{0};
    ScriptedServer server(answersOnceThenHangs(requests));
    Loop loop;
    EXPECT_TRUE(loop.run(server.url(), "/first").response);
    EXPECT_TRUE(loop.run(server.url(), "/second", "GET", 200ms).error);
    EXPECT_EQ(requests.load(), 2);
    EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpLoopClient, NobodyListeningIsAConnectError) {
    HttpUrl url;
    {
        ScriptedServer server([](int) {});
        url = server.url();
    }
    Loop loop;
    auto outcome = loop.run(url, "/");
    ASSERT_TRUE(outcome.error);
    EXPECT_EQ(outcome.error->step(), HttpStep::Connect);
    EXPECT_FALSE(outcome.error->timedOut());
    EXPECT_STREQ(outcome.error->what(), "connecting: Connection refused");
}

// A `done` that throws takes its exception to the loop; the answers after
// it are delivered at the next turn, not lost.
TEST(HttpLoopClient, AnswersAfterADoneThatThrewAreDeliveredNextTurn) {
    HttpUrl url;
    {
        ScriptedServer server([](int) {});
        url = server.url();
    }
    Loop loop;
    int delivered = 0;
    for (int i = 0; i < 3; ++i) {
        loop.client().start(Loop::requestTo(url, "/", "GET", 2000ms),
                            [&delivered, i](const HttpResponse*, const HttpError*) {
                                ++delivered;
                                if (i == 0) {
                                    throw std::runtime_error("a caller's bug");
                                }
                            });
    }
    bool threw = false;
    auto giveUp = std::chrono::steady_clock::now() + 5s;
    while (delivered < 3 && std::chrono::steady_clock::now() < giveUp) {
        try {
            loop.turn(20);
        } catch (const std::runtime_error&) {
            threw = true;
        }
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(delivered, 3);
    EXPECT_FALSE(loop.client().hasEnded());
}

// Bytes that are not HTTP, a body over the limit (1 MiB here), a server that
// closes mid-answer: a receive error, and the connection never pooled.
TEST(HttpLoopClient, AnswersThatCannotBeReadWholeAreErrors) {
    struct Case {
        const char* answer;
        const char* what;  // nullptr: any message
    };
    for (const auto& [bytes, what] : {
             Case{"SSH-2.0-OpenSSH_9.2\r\n\r\n", nullptr},
             Case{"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", nullptr},
             Case{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
                  "reading the response: end of stream"},
         }) {
        ScriptedServer server([bytes = bytes](int fd) {
            readRequest(fd);
            send(fd, bytes);
        });
        Loop loop;
        auto outcome = loop.run(server.url(), "/");
        ASSERT_TRUE(outcome.error) << bytes;
        EXPECT_EQ(outcome.error->step(), HttpStep::Receive) << bytes;
        if (what) {
            EXPECT_STREQ(outcome.error->what(), what);
        }
        EXPECT_EQ(loop.client().idle(), 0u) << bytes;
    }
}
