// The HTTP server on a loopback port: the gate's JSON refusals, its head
// deadline and per-address cap, waiting in the backlog at the cap, and
// admission at the head (401 before the body); the stream loop's streams,
// parked without a thread each and written without blocking. Conditions
// are waited for, never slept on.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/multipart_form.hpp"
#include "forwarder/http_server.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/stream_choice.hpp"
#include "forwarder/stream_parking.hpp"
#include "tests/unit/common/scripted_server.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using imagebuild::testing::ScriptedServer;
using imagebuild::testing::threadCount;

namespace {

std::string hex(const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) {
        out += "0123456789abcdef"[c >> 4];
        out += "0123456789abcdef"[c & 15];
    }
    return out;
}

// The parts libmicrohttpd read, as [[name, filename, hex of the value], ...].
nlohmann::json formAsJson(const std::vector<FormField>& form) {
    auto out = nlohmann::json::array();
    for (const auto& f : form) {
        out.push_back({f.name, f.filename, hex(f.value)});
    }
    return out;
}

// A listening socket on a free loopback port, which `port` is set to.
UniqueFd listenOnLoopback(int backlog, unsigned short& port) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(fd.get(), backlog), 0);
    socklen_t length = sizeof(address);
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    return fd;
}

// N bytes a to z, again and again.
std::string numbered(std::size_t total) {
    std::string out;
    for (std::size_t i = 0; i < total; ++i) {
        out += static_cast<char>('a' + i % 26);
    }
    return out;
}

struct Server {
    // Every head the gate hands off goes to the request loop, but
    // "/on-stream-loop", which goes to the stream loop and answers with the
    // name of the thread that served it.
    explicit Server(ServerLimits limits) {
        UniqueFd fd = listenOnLoopback(16, port);
        server = std::make_unique<HttpServer>(
            std::move(fd), limits,
            [](Request& r) {
                Admission a;
                if (r.path == "/private" && r.header("authorization").empty()) {
                    a.refusal = jsonError(401, "Unauthorized", "token needed");
                }
                a.maxBodyBytes = r.path == "/echo" ? 100 : 0;
                if (r.path == "/grouped") {
                    a.waitsOn = {"slow", 2};
                }
                if (r.path == "/form") {
                    a.form = true;
                    a.maxBodyBytes = 1 << 20;
                }
                return a;
            },
            [this](Request& r) {
                ++served;
                if (r.path == "/block" || r.path == "/grouped") {
                    std::unique_lock lock(mutex);
                    ++blocked;
                    changed.notify_all();
                    changed.wait(lock, [this] { return released; });
                }
                if (r.path == "/on-stream-loop") {
                    char name[16] = {};
                    pthread_getname_np(pthread_self(), name, sizeof(name));
                    return jsonResponse(200, "\"" + std::string(name) + "\"");
                }
                if (r.path == "/stream") {
                    return streamed(std::stoul(r.queryValue("n")), r.queryValue("wait") == "1");
                }
                if (r.path == "/file") {
                    return fileOf(numbered(std::stoul(r.queryValue("n"))));
                }
                return r.path == "/form" ? jsonResponse(200, formAsJson(r.form).dump())
                                         : jsonResponse(200, "\"" + r.body + "\"");
            },
            [this](unsigned status, const std::string& reason) {
                std::lock_guard lock(mutex);
                refusals.push_back(std::to_string(status) + " " + reason);
            },
            [](std::string_view head) {
                return head.find(" /on-stream-loop ") != std::string_view::npos
                           ? ServedBy::StreamLoop
                           : ServedBy::RequestLoop;
            },
            [this](Request& r) -> OnLoop {
                if (r.path == "/relay") {
                    return {std::nullopt, relayToPeer(r)};
                }
                if (r.path != "/loop") {
                    return {};
                }
                ++loopServed;
                return {jsonResponse(200, "\"" + r.queryValue("n") + "\""), {}};
            });
    }
    // "/stream?n=N": N numbered bytes, streamed as a journal read streams
    // (its length known); with wait=1, the first byte, then the rest once
    // released.
    Response streamed(std::size_t total, bool wait) {
        Response response;
        response.contentType = "application/octet-stream";
        response.streamSize = total;
        auto sent = std::make_shared<std::size_t>(0);
        response.stream = [this, sent, total, wait](char* buffer, std::size_t max) -> long {
            if (*sent == total) {
                return kStreamEnd;
            }
            if (wait && *sent == 1) {
                std::unique_lock lock(mutex);
                changed.wait(lock, [this] { return released; });
            }
            std::size_t n = std::min({max, total - *sent, wait ? 1 : 1 + *sent % 7000});
            for (std::size_t i = 0; i < n; ++i) {
                buffer[i] = static_cast<char>('a' + (*sent + i) % 26);
            }
            *sent += n;
            return static_cast<long>(n);
        };
        return response;
    }
    // "/file?n=N": N numbered bytes sent from a file (libmicrohttpd's sendfile), from
    // its second byte on.
    static Response fileOf(const std::string& text) {
        auto fd = std::make_shared<UniqueFd>(memfd_create("answer", MFD_CLOEXEC));
        EXPECT_EQ(write(fd->get(), ("-" + text).data(), text.size() + 1),
                  static_cast<ssize_t>(text.size() + 1));
        Response response;
        response.contentType = "text/plain";
        response.file = std::make_shared<FileBody>(FileBody{fd, 1, text.size()});
        return response;
    }
    // "GET /relay?n=X" goes to the peer at 127.0.0.1:peerPort as "GET /X";
    // the answer says what the peer said, or 502.
    LoopRelay relayToPeer(const Request& r) {
        LoopRelay relay;
        auto* address = reinterpret_cast<sockaddr_in*>(&relay.request.address);
        address->sin_family = AF_INET;
        address->sin_port = htons(peerPort);
        address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        relay.request.length = sizeof(sockaddr_in);
        relay.request.bytes = "GET /" + r.queryValue("n") + " HTTP/1.1\r\nHost: peer\r\n\r\n";
        relay.request.timeout = std::chrono::seconds(5);
        relay.finish = [this](const HttpResponse* answer, const HttpError* error) {
            ++relayed;
            return answer ? jsonResponse(answer->status, answer->body)
                          : jsonError(502, "PeerUnreachable", error->what());
        };
        return relay;
    }
    std::atomic<unsigned short> peerPort{0};
    std::atomic<int> relayed{0};  // relays ended (their answers made)
    std::vector<std::string> refused() {
        std::lock_guard lock(mutex);
        return refusals;
    }
    unsigned short port = 0;
    std::atomic<int> served{0};
    std::atomic<int> loopServed{0};  // answered on the gate's loop
    std::mutex mutex;
    std::vector<std::string> refusals;
    // "/block" waits until `released`; `blocked` counts those waiting (under
    // mutex). "/grouped" does too, in a wait group of 2 (wait_groups.hpp).
    std::condition_variable changed;
    int blocked = 0;
    bool released = false;
    void release() {
        std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }
    std::unique_ptr<HttpServer> server;
};

UniqueFd connectTo(unsigned short port, const char* from = "127.0.0.1") {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in source{};
    source.sin_family = AF_INET;
    inet_pton(AF_INET, from, &source.sin_addr);
    bind(fd.get(), reinterpret_cast<sockaddr*>(&source), sizeof(source));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
}

void sendText(const UniqueFd& fd, const std::string& text) {
    ASSERT_EQ(send(fd.get(), text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
}

// Everything until the server closes, or "" if nothing came within `ms`.
std::string answer(const UniqueFd& fd, int ms = 10000) {
    std::string out;
    char buffer[4096];
    pollfd p{fd.get(), POLLIN, 0};
    while (poll(&p, 1, ms) == 1) {
        auto n = recv(fd.get(), buffer, sizeof(buffer), 0);
        if (n <= 0) {
            break;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

std::string roundTrip(unsigned short port, const std::string& text) {
    auto fd = connectTo(port);
    sendText(fd, text);
    return answer(fd);
}

// One whole answer (head and Content-Length body) on a kept-alive
// connection. A client that sent its next request before this had all
// arrived would be pipelining, and be treated as one.
std::string oneAnswer(const UniqueFd& fd) {
    std::string out;
    char buffer[4096];
    for (;;) {
        auto end = out.find("\r\n\r\n");
        if (end != std::string::npos) {
            auto at = out.find("Content-Length: ");
            std::size_t length = at < end ? std::stoul(out.substr(at + 16)) : 0;
            if (out.size() >= end + 4 + length) {
                return out;
            }
        }
        auto n = recv(fd.get(), buffer, sizeof(buffer), 0);
        if (n <= 0) {
            ADD_FAILURE() << "the connection ended before its answer: " << out;
            return out;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

// A connection that has had one request answered and is kept alive.
UniqueFd keptAlive(unsigned short port) {
    auto fd = connectTo(port);
    sendText(fd, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    oneAnswer(fd);
    return fd;
}

void expectJsonError(const std::string& reply, const std::string& status) {
    EXPECT_EQ(reply.rfind("HTTP/1.1 " + status, 0), 0u) << reply;
    EXPECT_NE(reply.find("Content-Type: application/json"), std::string::npos) << reply;
    EXPECT_NE(reply.find("{\"error\":"), std::string::npos) << reply;
}

}  // namespace

TEST(ForwarderHttpServer, ServesAWellFormedRequest) {
    Server s({});
    auto reply = roundTrip(
        s.port,
        "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi");
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    EXPECT_NE(reply.find("\"hi\""), std::string::npos);
}

// What imagebuildctl -H and a forwarder placing a build on a peer send
// (common/multipart_form.hpp) reads back part for part: binary bytes, CR LF
// and dashes in a file, a quote in a file name.
TEST(ForwarderHttpServer, AnEncodedFormReadsBackPartForPart) {
    Server s({});
    std::string binary("\xed\xab\xee\xdb\0\r\n--imagebuild-\r\n\r\n--", 26);
    binary += std::string(70000, 'x');  // past the post processor's 64 KiB buffer
    std::vector<MultipartPart> parts{{"spec", "", "application/json", "{\"type\":\"boot\"}"},
                                     {"rpm", "a.rpm", "application/x-rpm", binary},
                                     {"rpm", "b\".rpm", "application/x-rpm", "second"}};
    auto form = encodeMultipart(parts);
    auto reply =
        roundTrip(s.port,
                  "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  "Content-Type: " +
                      form.contentType + "\r\nContent-Length: " + std::to_string(form.body.size()) +
                      "\r\n\r\n" + form.body);
    ASSERT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 300);
    auto read =
        nlohmann::json::parse(reply.substr(reply.find("\r\n\r\n") + 4), nullptr, false, false);
    ASSERT_TRUE(read.is_array()) << reply.substr(0, 300);
    ASSERT_EQ(read.size(), 3u);
    EXPECT_EQ(read[0], (nlohmann::json{"spec", "", hex("{\"type\":\"boot\"}")}));
    EXPECT_EQ(read[1][0], "rpm");
    EXPECT_EQ(read[1][1], "a.rpm");
    EXPECT_EQ(read[1][2].get<std::string>(), hex(binary));
    EXPECT_EQ(read[2][1], "b%22.rpm");
    EXPECT_EQ(read[2][2], hex("second"));
}

// Once its next head has begun, a kept-alive connection has head_timeout_sec
// for the rest; one that sends nothing is closed after the idle timeout.
TEST(ForwarderHttpServer, AKeptAliveConnectionWaitsAHeadTimeoutForItsNextHead) {
    ServerLimits limits;
    limits.gate.headTimeoutSec = 1;
    limits.idleTimeoutSec = 2;
    Server s(limits);
    auto fd = keptAlive(s.port);
    sendText(fd, "GET /y HTTP/1.1\r\n");  // and then nothing more
    expectJsonError(answer(fd), "408");   // answered and closed, not held
    auto idle = keptAlive(s.port);
    EXPECT_EQ(answer(idle), "");  // nothing sent: closed without a word
    char byte;
    EXPECT_EQ(recv(idle.get(), &byte, 1, MSG_DONTWAIT), 0);  // closed, not merely quiet
    EXPECT_EQ(s.served, 2);
}

// Downloads and logs read to their end: a stream that may block (on the
// request loop, read ahead on a worker: stream_pump.hpp) and a file, whole
// and in order; the connection is kept for the next request.
TEST(ForwarderHttpServer, StreamedAndFileAnswersArriveWholeAndTheConnectionIsKept) {
    Server s({});
    auto fd = connectTo(s.port);
    constexpr std::size_t kTotal = 3'000'000;
    sendText(fd, "GET /stream?n=" + std::to_string(kTotal) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto reply = oneAnswer(fd);
    ASSERT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 300);
    EXPECT_TRUE(reply.substr(reply.find("\r\n\r\n") + 4) == numbered(kTotal));
    sendText(fd, "GET /file?n=" + std::to_string(kTotal) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    reply = oneAnswer(fd);
    ASSERT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 300);
    EXPECT_TRUE(reply.substr(reply.find("\r\n\r\n") + 4) == numbered(kTotal));
    sendText(fd, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(oneAnswer(fd).rfind("HTTP/1.1 200", 0), 0u);
}

// A file is sent with sendfile(), which cannot suppress SIGPIPE per call:
// a client that leaves mid-download ends its connection, not the process.
TEST(ForwarderHttpServer, AClientThatLeavesMidDownloadEndsOnlyItsConnection) {
    Server s({});
    for (const char* path : {"/file", "/stream"}) {
        auto fd = connectTo(s.port);
        sendText(fd, std::string("GET ") + path + "?n=64000000 HTTP/1.1\r\nHost: x\r\n\r\n");
        char buffer[1000];
        ASSERT_GT(recv(fd.get(), buffer, sizeof buffer, 0), 0);
        linger cut{1, 0};  // a reset: the server's next write fails at once
        setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &cut, sizeof cut);
    }
    auto reply = roundTrip(s.port, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

// A stream whose source waits (a slow peer, a journal on a busy disk)
// waits on a worker: the request loop goes on serving everyone else, and
// the stream goes on once its source does.
TEST(ForwarderHttpServer, AStreamWaitingForItsSourceHoldsUpNoRequestOfTheLoop) {
    Server s({});
    auto waiting = connectTo(s.port);
    sendText(waiting, "GET /stream?n=3&wait=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 3; ++i) {
        auto reply = roundTrip(s.port, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    }
    s.release();
    auto reply = answer(waiting);
    EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), "abc") << reply;
}

// On the request loop an answered kept-alive connection waits for its next
// head in the loop's epoll (a second), then in the gate's: no thread waits
// for it either way, and every later request on it is served as the first
// was.
TEST(ForwarderHttpServer, AKeptAliveConnectionOnTheRequestLoopHoldsNoThread) {
    Server s({});
    auto fd = connectTo(s.port);
    for (int i = 0; i < 5; ++i) {
        sendText(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        EXPECT_NE(oneAnswer(fd).find("\"hi\""), std::string::npos);
    }
    // The thread count is that of the server with its workers, whatever
    // the connections waiting.
    auto before = threadCount();
    std::vector<UniqueFd> kept;
    for (int i = 0; i < 20; ++i) {
        kept.push_back(keptAlive(s.port));
    }
    EXPECT_LE(threadCount(), before + 2) << "threads after 20 kept-alive connections' answers";
    // Past the grace they are the gate's; handed off again at their next head.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (auto& connection : kept) {
        sendText(connection, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        EXPECT_NE(oneAnswer(connection).find("\"hi\""), std::string::npos);
    }
    EXPECT_LE(threadCount(), before + 2);
    EXPECT_EQ(s.served, 45);
}

// `n` connections asking "/grouped" (a wait group of 2), once 2 handlers
// run; none if they did not start.
std::vector<UniqueFd> grouped(Server& s, int n) {
    std::vector<UniqueFd> clients;
    for (int i = 0; i < n; ++i) {
        clients.push_back(connectTo(s.port));
        sendText(clients.back(), "GET /grouped HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    }
    std::unique_lock lock(s.mutex);
    bool started =
        s.changed.wait_for(lock, std::chrono::seconds(10), [&s] { return s.blocked == 2; });
    return started ? std::move(clients) : std::vector<UniqueFd>{};
}

// Requests whose handlers wait on one thing (a hung agent, say) hold at
// most their group's cap of workers; the rest wait without one, and the
// loop's other requests are served meanwhile.
TEST(ForwarderHttpServer, RequestsWaitingOnOneGroupLeaveTheWorkersToOthers) {
    Server s({.gate = {}, .idleTimeoutSec = 60, .requestHandlers = 4});
    auto clients = grouped(s, 10);
    ASSERT_EQ(clients.size(), 10u);
    for (int i = 0; i < 4; ++i) {  // as many as there are workers
        auto other = roundTrip(s.port, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(other.rfind("HTTP/1.1 200", 0), 0u) << other;
    }
    {
        std::lock_guard lock(s.mutex);
        EXPECT_EQ(s.blocked, 2);
    }
    s.release();
    for (const auto& fd : clients) {
        auto reply = answer(fd);
        EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    }
}

// Stopping with requests of a wait group still waiting their turn: the
// running ones end and are answered; the waiting ones are answered 503,
// not run, and none is left suspended (libmicrohttpd would abort).
TEST(ForwarderHttpServer, AStopAnswersTheRequestsWaitingInAGroup503) {
    Server s({.gate = {}, .idleTimeoutSec = 60, .requestHandlers = 8});
    auto clients = grouped(s, 4);
    ASSERT_EQ(clients.size(), 4u);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the others queued
    std::thread stopping([&s] { s.server.reset(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s.release();
    stopping.join();
    int answered = 0;
    int refused = 0;
    for (const auto& fd : clients) {
        auto reply = answer(fd);
        answered += reply.rfind("HTTP/1.1 200", 0) == 0;
        refused += reply.rfind("HTTP/1.1 503", 0) == 0;
    }
    EXPECT_EQ(answered, 2);
    EXPECT_EQ(refused, 2);
    EXPECT_EQ(s.served, 2);
}

// Stopping while a stream is read ahead and its connection parked: the
// reading ends, the stream is cut (not ended as if whole) and the server
// stops.
TEST(ForwarderHttpServer, AStopCutsAStreamReadAhead) {
    Server s({});
    auto fd = connectTo(s.port);
    sendText(fd, "GET /stream?n=3&wait=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string got;
    char buffer[512];
    while (got.find("\r\n\r\na") == std::string::npos) {
        auto n = recv(fd.get(), buffer, sizeof buffer, 0);
        ASSERT_GT(n, 0) << got;
        got.append(buffer, static_cast<std::size_t>(n));
    }
    std::thread stopping([&s] { s.server.reset(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s.release();  // the source goes on; the worker sees the stop
    stopping.join();
    got += answer(fd);
    EXPECT_EQ(got.find("\r\n\r\nabc"), std::string::npos) << got;
}

// Stopping with a handler running and one waiting for a worker: the running
// one ends and its answer is sent; the waiting one is not run, and answers
// 503; nothing is resumed before its handler returned (which would spin the
// loop and free the request under the handler).
TEST(ForwarderHttpServer, TheRequestLoopStopsAfterItsRunningHandlers) {
    Server s({.gate = {}, .idleTimeoutSec = 60, .requestHandlers = 1});
    auto running = connectTo(s.port);
    sendText(running, "GET /block HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    {
        std::unique_lock lock(s.mutex);
        ASSERT_TRUE(s.changed.wait_for(lock, std::chrono::seconds(10), [&s] { return s.blocked; }));
    }
    auto waiting = connectTo(s.port);
    sendText(waiting, "GET /block HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // queued behind it
    std::thread stopping([&s] { s.server.reset(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s.release();
    stopping.join();
    auto first = answer(running);
    auto second = answer(waiting);
    EXPECT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
    EXPECT_EQ(second.rfind("HTTP/1.1 503", 0), 0u) << second;
    EXPECT_EQ(s.served, 1);
}

// A kept-alive connection's next head that is another daemon's (a follower
// after a page) goes to that daemon, not to the one that served the last.
TEST(ForwarderHttpServer, TheRequestLoopPassesAnotherDaemonsHeadOn) {
    Server s({});
    auto fd = connectTo(s.port);
    sendText(fd, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(oneAnswer(fd).find("HTTP/1.1 200"), std::string::npos);
    // Within the request loop's grace: its own wait sees this head.
    sendText(fd, "GET /on-stream-loop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto reply = answer(fd);
    EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
    EXPECT_NE(reply.find("\"stream-handler\""), std::string::npos)
        << "not served on the stream loop: " << reply;
    EXPECT_EQ(s.served, 2);
}

// Requests in flight on the request loop hold a worker each, at most
// requestHandlers: the ones past that wait their turn without a thread, and
// are all served once the workers are free again. With a thread per
// request each would be a thread.
TEST(ForwarderHttpServer, RequestsPastTheRequestLoopsWorkersWaitWithoutAThread) {
    constexpr int kRequests = 40;
    constexpr int kHandlers = 8;
    Server s({.gate = {}, .idleTimeoutSec = 60, .requestHandlers = kHandlers});
    auto base = threadCount();
    std::vector<UniqueFd> clients;
    for (int i = 0; i < kRequests; ++i) {
        clients.push_back(connectTo(s.port));
        sendText(clients.back(), "GET /block HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    }
    {
        std::unique_lock lock(s.mutex);
        EXPECT_TRUE(s.changed.wait_for(lock, std::chrono::seconds(10),
                                       [&s] { return s.blocked == kHandlers; }))
            << s.blocked << " handlers running";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // none more starts
    EXPECT_EQ(s.served, kHandlers);
    EXPECT_LE(threadCount(), base + kHandlers)
        << "threads with " << kRequests << " requests in flight";
    s.release();
    for (auto& fd : clients) {
        auto reply = answer(fd);
        EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    }
    EXPECT_EQ(s.served, kRequests);
}

// What libmicrohttpd would refuse itself, with its own HTML and no
// Content-Type, in a kept-alive connection's later head: our JSON too.
TEST(ForwarderHttpServer, MalformedLaterHeadsAreOurJson) {
    Server s({});
    const std::pair<std::string, std::string> cases[] = {
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505"},
        {"GET / HTTP/1.1\r\n\r\n", "400"},
        {"GARBAGE\r\nHost: x\r\n\r\n", "400"},
        {"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", "400"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", "400"},
        {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", "414"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "431"},
    };
    for (const auto& [head, status] : cases) {
        auto fd = keptAlive(s.port);
        sendText(fd, head);
        expectJsonError(answer(fd), status);
    }
    EXPECT_EQ(s.served, 7);             // the first requests only
    EXPECT_EQ(s.refused().size(), 7u);  // counted as the gate's refusals are
}

std::size_t countOf(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

// A kept-alive connection serves one request after another.
TEST(ForwarderHttpServer, KeptAliveRequestsAreServed) {
    Server s({});
    auto fd = keptAlive(s.port);
    for (int i = 0; i < 3; ++i) {
        sendText(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        EXPECT_NE(oneAnswer(fd).find("\"hi\""), std::string::npos);
    }
    EXPECT_EQ(s.served, 4);
}

// A client that pipelines makes libmicrohttpd read ahead, where a later head
// could not be checked first: the connection ends after the first complete
// answer, and what was read ahead is neither served nor answered by the
// library (no HTML), however malformed.
TEST(ForwarderHttpServer, APipeliningClientGetsOneAnswerAndAnEnd) {
    Server s({});
    auto piped = connectTo(s.port);
    sendText(piped,
             "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
             "GARBAGE\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto reply = answer(piped);
    EXPECT_EQ(countOf(reply, "HTTP/1.1 "), 1u) << reply;
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    EXPECT_EQ(reply.find("<html"), std::string::npos) << reply;
    EXPECT_EQ(s.served, 1);
    // The server goes on: a new connection is served.
    auto again = roundTrip(s.port, "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(again.rfind("HTTP/1.1 200", 0), 0u) << again;
}

// The gate sees only a connection's first head; what it refuses there is
// refused in every later request on the connection too, in our JSON.
TEST(ForwarderHttpServer, AKeptAliveConnectionsLaterRequestsAreCheckedToo) {
    Server s({});
    for (const std::string& second :
         {std::string("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"),
          std::string("GET /a?k=v%00w HTTP/1.1\r\nHost: x\r\n\r\n"),
          std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      "Content-Length: 2\r\n\r\nhi")}) {
        auto fd = keptAlive(s.port);
        sendText(fd, second);
        expectJsonError(answer(fd), "400");
    }
    EXPECT_EQ(s.served, 3);  // the three first requests only
}

TEST(ForwarderHttpServer, MalformedHeadsAreOurJson) {
    Server s({});
    expectJsonError(roundTrip(s.port, "GET / HTTP/2.0\r\nHost: x\r\n\r\n"), "505");
    expectJsonError(roundTrip(s.port, "GET / HTTP/1.1\r\n\r\n"), "400");
    expectJsonError(roundTrip(s.port, "GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n"), "400");
    expectJsonError(
        roundTrip(
            s.port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
        "400");
    expectJsonError(roundTrip(s.port, "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n"),
                    "414");
    expectJsonError(roundTrip(s.port, "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a') +
                                          "\r\n\r\n"),
                    "431");
    EXPECT_EQ(s.served, 0);
    // Counted for /metrics: each refusal once, by status and reason.
    EXPECT_EQ(s.refused(), (std::vector<std::string>{
                               "505 HttpVersionNotSupported", "400 BadRequest", "400 BadRequest",
                               "400 BadRequest", "414 UriTooLong", "431 HeadersTooLarge"}));
}

TEST(ForwarderHttpServer, RefusedAtTheHeadBeforeTheBody) {
    Server s({});
    auto fd = connectTo(s.port);
    // The body never comes: the answer does not wait for it.
    sendText(fd, "POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 15000000\r\n\r\n");
    auto reply = answer(fd);
    expectJsonError(reply, "401");
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    reply = roundTrip(s.port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
    expectJsonError(reply, "413");
    EXPECT_NE(reply.find("100 bytes"), std::string::npos) << reply;
    reply = roundTrip(s.port, "POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
    expectJsonError(reply, "413");
    EXPECT_NE(reply.find("takes no request body"), std::string::npos) << reply;
    EXPECT_EQ(s.served, 0);
}

TEST(ForwarderHttpServer, ASlowHeadIsAnswered408) {
    ServerLimits limits;
    limits.gate.headTimeoutSec = 1;
    Server s(limits);
    auto slow = connectTo(s.port);
    sendText(slow, "GET / HTTP/1.1\r\n");
    // Meanwhile others are served.
    auto reply = roundTrip(s.port, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    expectJsonError(answer(slow), "408");
    EXPECT_EQ(s.refused(), std::vector<std::string>{"408 RequestTimeout"});
}

TEST(ForwarderHttpServer, PerAddressCapIs429) {
    ServerLimits limits;
    limits.gate.maxPerAddress = 2;
    Server s(limits);
    auto one = connectTo(s.port, "127.0.0.7");
    auto two = connectTo(s.port, "127.0.0.7");
    auto three = connectTo(s.port, "127.0.0.7");
    expectJsonError(answer(three), "429");
    EXPECT_EQ(s.refused(), std::vector<std::string>{"429 TooManyConnections"});
    auto other = connectTo(s.port, "127.0.0.8");
    sendText(other, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(answer(other).rfind("HTTP/1.1 200", 0), 0u);
}

TEST(ForwarderHttpServer, OverTheCapClientsWaitInTheBacklog) {
    ServerLimits limits;
    limits.gate.maxConnections = 2;
    Server s(limits);
    auto one = connectTo(s.port);
    auto two = connectTo(s.port);
    auto waiting = connectTo(s.port);  // completes: the kernel's backlog holds it
    sendText(waiting, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(answer(waiting, 300), "");  // not accepted, not closed: waiting
    one.reset();
    auto reply = answer(waiting);
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

// A chunked body is decoded inside libmicrohttpd, which answers a malformed
// one with its own HTML: no body without a Content-Length is read at all.
TEST(ForwarderHttpServer, AChunkedBodyIs411) {
    Server s({});
    auto fd = connectTo(s.port);
    sendText(fd,
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "zz\r\nnot a chunk\r\n");
    auto reply = answer(fd);
    expectJsonError(reply, "411");
    EXPECT_NE(reply.find("LengthRequired"), std::string::npos) << reply;
    // A kept-alive connection's later request too.
    fd = keptAlive(s.port);
    sendText(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    expectJsonError(answer(fd), "411");
    EXPECT_EQ(s.served, 1);  // the kept-alive connection's first request only
}

namespace {

// The bytes every stream of the stream loop sends, each from its own
// position: a stream with nothing to send parks, and add() unparks them all.
struct Feed {
    std::mutex mutex;
    std::condition_variable changed;
    std::string data;
    bool ended = false;
    std::vector<std::shared_ptr<StreamParking>> parked;
    std::set<std::thread::id> readers;  // the threads the streams were read on
    std::size_t reads = 0;
    bool released = false;  // a blocking handler may go on

    BodyStream streamFor(std::shared_ptr<StreamParking> parking) {
        auto at = std::make_shared<std::size_t>(0);
        return [this, parking, at](char* buffer, std::size_t max) -> long {
            std::lock_guard lock(mutex);
            readers.insert(std::this_thread::get_id());
            ++reads;
            changed.notify_all();
            if (*at < data.size()) {
                auto n = std::min(max, data.size() - *at);
                std::memcpy(buffer, data.data() + *at, n);
                *at += n;
                return static_cast<long>(n);
            }
            if (ended) {
                return -1;
            }
            parking->park();
            parked.push_back(parking);
            return 0;
        };
    }
    void add(const std::string& text, bool end) {
        std::vector<std::shared_ptr<StreamParking>> woken;
        {
            std::lock_guard lock(mutex);
            data += text;
            ended = end;
            woken.swap(parked);
        }
        for (auto& parking : woken) {
            parking->unpark();
        }
    }
    template <typename Condition>
    bool waitFor(Condition condition) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds(30), condition);
    }
    void release() {
        std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }
};

// A server whose "GET /stream" and "GET /slow" heads go to the stream loop
// (with "?loop=request", to the request loop): /stream answers with the
// feed, /slow first waits for feed.release().
struct LoopServer {
    explicit LoopServer(unsigned requestHandlers = 256) {
        UniqueFd fd = listenOnLoopback(64, port);
        server = std::make_unique<HttpServer>(
            std::move(fd),
            ServerLimits{.gate = {}, .idleTimeoutSec = 1, .requestHandlers = requestHandlers},
            [](Request&) { return Admission{}; },
            [this](Request& r) {
                if (r.path == "/later") {
                    std::lock_guard lock(feed.mutex);
                    laters.emplace_back(r.queryValue("n"), r.answerLater);
                    feed.changed.notify_all();
                    Response pending;
                    pending.later = true;
                    return pending;
                }
                if (r.path == "/slow") {
                    feed.waitFor([this] { return feed.released; });
                }
                if (r.path == "/blocking") {
                    return blockingStream();
                }
                if (r.path != "/stream" && r.path != "/slow") {
                    return jsonResponse(200, "\"other\"");
                }
                unparkable += r.parking ? 0 : 1;
                Response response;
                response.contentType = "text/plain";
                response.stream = feed.streamFor(r.parking);
                response.parks = true;
                return response;
            },
            HttpServer::OnRefusal{},
            [](std::string_view head) {
                bool stream = head.starts_with("GET /stream") || head.starts_with("GET /slow") ||
                              head.starts_with("GET /later") || head.starts_with("GET /blocking");
                return stream && head.find("?loop=request") == std::string_view::npos
                           ? ServedBy::StreamLoop
                           : ServedBy::RequestLoop;
            });
    }
    // "/blocking": a stream that does not park: it blocks until the feed is
    // released, then says "done".
    Response blockingStream() {
        Response response;
        response.contentType = "text/plain";
        auto said = std::make_shared<bool>(false);
        response.stream = [this, said](char* buffer, std::size_t) -> long {
            if (std::exchange(*said, true)) {
                return kStreamEnd;
            }
            feed.waitFor([this] { return feed.released; });
            std::memcpy(buffer, "done", 4);
            return 4;
        };
        return response;
    }
    unsigned short port = 0;
    Feed feed;
    // Under feed.mutex: each /later?n=N's answer slot, by N.
    std::vector<std::pair<std::string, std::shared_ptr<LaterAnswer>>> laters;
    std::atomic<int> unparkable{0};  // loop requests dispatched without a parking
    std::unique_ptr<HttpServer> server;
};

UniqueFd follow(unsigned short port, const std::string& path = "/stream") {
    auto fd = connectTo(port);
    sendText(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    return fd;
}

}  // namespace

TEST(ForwarderHttpServer, TheStreamLoopHoldsParkedStreamsWithoutAThreadEach) {
    LoopServer s;
    auto threads = threadCount();
    std::vector<UniqueFd> followers;
    for (int i = 0; i < 16; ++i) {
        followers.push_back(follow(s.port));
    }
    ASSERT_TRUE(s.feed.waitFor([&] { return s.feed.parked.size() == 16; }));
    // No more threads than before (a thread of an earlier test's connection
    // may still have been ending then): sixteen streams would be sixteen.
    EXPECT_LE(threadCount(), threads);
    // The request loop answers meanwhile.
    auto other = roundTrip(s.port, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(other.find("\"other\""), std::string::npos) << other;

    s.feed.add("line 1\n", false);
    s.feed.add("line 2\n", true);
    for (const auto& fd : followers) {
        auto reply = answer(fd);  // whole: the server closes the connection
        EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
        EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
        EXPECT_NE(reply.find("line 1\n"), std::string::npos) << reply;
        EXPECT_NE(reply.find("line 2\n"), std::string::npos) << reply;
    }
    EXPECT_EQ(s.unparkable, 0);
    std::lock_guard lock(s.feed.mutex);
    EXPECT_EQ(s.feed.readers.size(), 1u);  // the loop's one thread
    EXPECT_EQ(s.feed.readers.count(std::this_thread::get_id()), 0u);
}

// A follower the stream loop cannot hold (a large head, say) parks on the
// request loop the same way: it holds no worker while it waits for lines,
// and its stream is read on the loop's thread.
TEST(ForwarderHttpServer, AFollowerOnTheRequestLoopParksWithoutAWorker) {
    LoopServer s(1);
    std::vector<UniqueFd> followers;
    for (int i = 0; i < 4; ++i) {
        followers.push_back(follow(s.port, "/stream?loop=request"));
    }
    ASSERT_TRUE(s.feed.waitFor([&] { return s.feed.parked.size() == 4; }));
    // The one worker is free for everyone else.
    auto other = roundTrip(s.port, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(other.find("\"other\""), std::string::npos) << other;
    s.feed.add("line 1\n", true);
    for (const auto& fd : followers) {
        sendText(fd, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        auto reply = answer(fd);  // the stream, then the kept connection's next answer
        EXPECT_NE(reply.find("line 1\n"), std::string::npos) << reply;
        EXPECT_NE(reply.find("\"other\""), std::string::npos) << reply;
    }
    std::lock_guard lock(s.feed.mutex);
    EXPECT_EQ(s.feed.readers.size(), 1u);  // the request loop's one thread
}

// A stream the stream loop is given that does not park would block its
// thread: it is read ahead on a worker, and the loop's followers go on.
TEST(ForwarderHttpServer, AStreamThatDoesNotParkHoldsUpNoFollower) {
    LoopServer s;
    auto blocking = follow(s.port, "/blocking");
    auto follower = follow(s.port);
    ASSERT_TRUE(s.feed.waitFor([&] { return s.feed.parked.size() == 1; }));
    s.feed.add("line 1\n", true);
    auto lines = answer(follower);
    EXPECT_NE(lines.find("line 1\n"), std::string::npos) << lines;
    s.feed.release();
    auto done = answer(blocking);
    EXPECT_NE(done.find("done"), std::string::npos) << done;
}

// Writes are not blocking: a client that reads nothing, its socket full,
// holds up no other stream.
TEST(ForwarderHttpServer, AStreamLoopClientThatReadsNothingHoldsUpNoOther) {
    LoopServer s;
    const std::size_t size = 16 << 20;  // more than both sockets' buffers hold
    s.feed.add(std::string(size, 'x'), true);
    UniqueFd stuck(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int small = 4096;
    setsockopt(stuck.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(s.port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(stuck.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    sendText(stuck, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(s.feed.waitFor([&] { return s.feed.reads > 0; }));

    auto reply = answer(follow(s.port));
    auto body = reply.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos) << reply.substr(0, 300);
    // Chunked: the body's bytes are the feed's plus the chunks' framing.
    EXPECT_GT(reply.size() - body, size) << reply.substr(0, 300);
    EXPECT_NE(reply.find("0\r\n\r\n", reply.size() - 16), std::string::npos);
}

// A loop request's handler runs on a worker: while it blocks, the loop
// goes on writing the streams it has.
TEST(ForwarderHttpServer, AStreamLoopHandlerThatBlocksHoldsUpNoStream) {
    LoopServer s;
    auto streaming = follow(s.port);
    ASSERT_TRUE(s.feed.waitFor([&] { return s.feed.parked.size() == 1; }));
    auto slow = follow(s.port, "/slow");
    s.feed.add("line 1\n", true);
    auto reply = answer(streaming);
    EXPECT_NE(reply.find("line 1\n"), std::string::npos) << reply;
    s.feed.release();
    reply = answer(slow);
    EXPECT_NE(reply.find("line 1\n"), std::string::npos) << reply;
}

// A handler that answers later (a follow waiting for a peer's first
// answer) holds no worker: more such requests than there are workers wait
// while a stream is served, and each gets the answer given for it, from
// another thread; one given after its client left goes nowhere.
TEST(ForwarderHttpServer, AnAnswerGivenLaterHoldsNoWorker) {
    LoopServer s;
    constexpr std::size_t kWaiting = 10;  // the stream loop has 4 workers
    std::vector<UniqueFd> waiting;
    for (std::size_t i = 0; i < kWaiting; ++i) {
        waiting.push_back(follow(s.port, "/later?n=" + std::to_string(i)));
    }
    auto gone = follow(s.port, "/later?n=gone");
    ASSERT_TRUE(s.feed.waitFor([&] { return s.laters.size() == kWaiting + 1; }));
    s.feed.add("line 1\n", true);
    auto reply = answer(follow(s.port));
    EXPECT_NE(reply.find("line 1\n"), std::string::npos) << reply;

    gone = UniqueFd();
    std::vector<std::pair<std::string, std::shared_ptr<LaterAnswer>>> laters;
    {
        std::lock_guard lock(s.feed.mutex);
        laters = s.laters;
    }
    std::thread giver([&laters] {
        for (auto& [n, later] : laters) {
            later->give(jsonResponse(200, "\"answer " + n + "\""));
        }
    });
    giver.join();
    for (std::size_t i = 0; i < kWaiting; ++i) {
        reply = answer(waiting[i]);
        EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
        EXPECT_NE(reply.find("\"answer " + std::to_string(i) + "\""), std::string::npos) << reply;
    }
    // The server still answers after giving to a client that left.
    reply = answer(follow(s.port));
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

// An answer given from inside the handler (a peer's head already in) is
// taken only once the handler has returned: the handler may still read
// its request after giving.
TEST(ForwarderHttpServer, AnAnswerGivenInsideTheHandlerWaitsForItToReturn) {
    std::atomic<bool> returned{false};
    std::atomic<bool> answeredEarly{false};
    UniqueFd fd;
    unsigned short port = 0;
    fd = listenOnLoopback(64, port);
    HttpServer server(
        std::move(fd), ServerLimits{.gate = {}, .idleTimeoutSec = 1},
        [](Request&) { return Admission{}; },
        [&](Request& r) {
            r.answerLater->give(jsonResponse(200, "\"given\""));
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            EXPECT_EQ(r.path, "/give");  // still ours to read
            returned = true;
            Response pending;
            pending.later = true;
            return pending;
        },
        HttpServer::OnRefusal{},
        [](std::string_view head) {
            return head.starts_with("GET /give") ? ServedBy::StreamLoop : ServedBy::RequestLoop;
        });
    auto reply = answer(follow(port, "/give"));
    answeredEarly = !returned.load();
    EXPECT_NE(reply.find("\"given\""), std::string::npos) << reply;
    EXPECT_FALSE(answeredEarly.load());
}

// The largest head the stream loop takes (stream_choice.hpp) fits its
// connection's small memory pool with the answer's head: answered by the
// stream, chunked (HTTP/1.1) or not, never libmicrohttpd's own refusal.
TEST(ForwarderHttpServer, TheStreamLoopsLargestHeadIsServed) {
    LoopServer s;
    s.feed.add(std::string(100000, 'x'), true);
    for (const char* version : {"HTTP/1.1", "HTTP/1.0"}) {
        std::string head = std::string("GET /stream ") + version + "\r\nHost: x\r\n";
        for (std::size_t i = 2; i < kStreamLoopMaxHeaderFields; ++i) {
            head += "X-" + std::to_string(i) + ": v\r\n";
        }
        auto pad = kStreamLoopMaxHeadBytes - head.size() - std::strlen("X-Pad: \r\n\r\n");
        head += "X-Pad: " + std::string(pad, 'p') + "\r\n\r\n";
        ASSERT_EQ(head.size(), kStreamLoopMaxHeadBytes);
        auto fd = connectTo(s.port);
        sendText(fd, head);
        auto reply = answer(fd);
        EXPECT_EQ(reply.rfind("HTTP/1.", 0), 0u) << reply.substr(0, 300);
        EXPECT_NE(reply.find(" 200 OK\r\n"), std::string::npos) << reply.substr(0, 300);
        if (std::string(version) == "HTTP/1.0") {  // not chunked: the bytes as they are
            EXPECT_NE(reply.find(std::string(100000, 'x')), std::string::npos)
                << reply.substr(0, 300);
        }
        EXPECT_GT(reply.size(), 100000u) << reply.substr(0, 300);
    }
}

// A follower of a silent log stays parked for longer than the idle timeout
// (request_timeout_sec; 1 s here): a parked connection does not time out,
// and its timeout starts again when it is unparked. The wait is the point:
// the timeout has to pass.
TEST(ForwarderHttpServer, AStreamParkedLongerThanTheIdleTimeoutGoesOn) {
    LoopServer s;
    auto fd = follow(s.port);
    ASSERT_TRUE(s.feed.waitFor([&] { return s.feed.parked.size() == 1; }));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    s.feed.add("late\n", true);
    auto reply = answer(fd);
    EXPECT_NE(reply.find("late\n"), std::string::npos) << reply;
}

// A route that never blocks is answered on the gate's loop, and the
// connection kept there for its next request, without a thread.
TEST(ForwarderHttpServer, ALoopRouteIsAnsweredOnTheLoopAndKeptAlive) {
    Server s({});
    auto fd = connectTo(s.port);
    for (int i = 0; i < 3; ++i) {
        sendText(fd, "GET /loop?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        auto reply = oneAnswer(fd);
        EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
        EXPECT_NE(reply.find("\r\nDate: "), std::string::npos) << reply;
        EXPECT_NE(reply.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
        EXPECT_NE(reply.find("\r\nContent-Length: 4\r\n\r\n\"" + std::to_string(i) + "\""),
                  std::string::npos)
            << reply;
        EXPECT_EQ(reply.find("Connection: close"), std::string::npos) << reply;
    }
    EXPECT_EQ(s.loopServed, 3);
    EXPECT_EQ(s.served, 0);
    // The connection's next request is libmicrohttpd's: the gate's loop has
    // read it, so it goes over a bridge (connection_bridge.hpp), and the
    // connection ends after that answer.
    sendText(fd, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    auto bridged = answer(fd);
    EXPECT_EQ(bridged.rfind("HTTP/1.1 200", 0), 0u) << bridged;
    EXPECT_EQ(countOf(bridged, "HTTP/1.1 "), 1u) << bridged;
    EXPECT_EQ(s.served, 1);
}

// A body, and a pipelined request before it: the loop answers its own, the
// bridge carries the rest (head, body and all) to the request loop, in order.
TEST(ForwarderHttpServer, ARequestWithABodyAfterLoopAnswersGoesOverTheBridge) {
    Server s({});
    auto fd = connectTo(s.port);
    sendText(fd, "GET /loop?n=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    oneAnswer(fd);
    sendText(fd,
             "GET /loop?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel");
    sendText(fd, "lo");
    auto reply = answer(fd);
    auto loop = reply.find("\"2\""), echo = reply.find("\"hello\"");
    EXPECT_TRUE(loop < echo && echo != std::string::npos) << reply;
    EXPECT_EQ(countOf(reply, "HTTP/1.1 200"), 2u) << reply;
    EXPECT_EQ(s.loopServed, 2);
    EXPECT_EQ(s.served, 1);
    // Refused at its head over the bridge as at a first head: our JSON.
    auto again = connectTo(s.port);
    sendText(again, "GET /loop HTTP/1.1\r\nHost: x\r\n\r\n");
    oneAnswer(again);
    sendText(again, "POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    expectJsonError(answer(again), "401");
}

// Pipelined requests are answered in order, each head taken exactly; the
// last one's "Connection: close" ends the connection after its answer.
TEST(ForwarderHttpServer, PipelinedLoopRequestsAreAnsweredInOrder) {
    Server s({});
    auto fd = connectTo(s.port);
    sendText(fd,
             "GET /loop?n=a HTTP/1.1\r\nHost: x\r\n\r\nGET /loop?n=b HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /loop?n=c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto reply = answer(fd);  // returns once the server closed
    EXPECT_EQ(countOf(reply, "HTTP/1.1 200 OK"), 3u) << reply;
    auto a = reply.find("\"a\""), b = reply.find("\"b\""), c = reply.find("\"c\"");
    EXPECT_TRUE(a < b && b < c && c != std::string::npos) << reply;
    EXPECT_EQ(countOf(reply, "Connection: close"), 1u) << reply;
    EXPECT_EQ(s.loopServed, 3);
}

TEST(ForwarderHttpServer, LoopAnswersKeepHttpsRules) {
    Server s({});
    // HEAD: the GET's head, its Content-Length, no body.
    auto head =
        roundTrip(s.port, "HEAD /loop?n=abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    EXPECT_NE(head.find("Content-Length: 6\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "") << head;
    // HTTP/1.0 without keep-alive: answered, then closed.
    auto old = roundTrip(s.port, "GET /loop?n=z HTTP/1.0\r\n\r\n");
    EXPECT_NE(old.find("Connection: close"), std::string::npos) << old;
    EXPECT_NE(old.find("\"z\""), std::string::npos) << old;
    EXPECT_EQ(s.loopServed, 2);
    // A target to be decoded, or a body, is libmicrohttpd's: the request loop serves it.
    roundTrip(s.port, "GET /lo%6Fp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(s.loopServed, 2);
    EXPECT_EQ(s.served, 1);
}

// Kept after a loop answer and silent: closed at the keep-alive timeout
// (request_timeout_sec) without an answer, as libmicrohttpd closes its own.
TEST(ForwarderHttpServer, AnIdleConnectionKeptOnTheLoopIsClosedSilently) {
    ServerLimits limits;
    limits.idleTimeoutSec = 1;
    Server s(limits);
    auto fd = connectTo(s.port);
    sendText(fd, "GET /loop HTTP/1.1\r\nHost: x\r\n\r\n");
    oneAnswer(fd);
    EXPECT_EQ(answer(fd, 10000), "");
    char byte;
    EXPECT_EQ(recv(fd.get(), &byte, 1, MSG_DONTWAIT), 0);  // closed, not merely quiet
    EXPECT_TRUE(s.refused().empty());
}

// Two loops accept from the one socket; the caps are the gate's, not a
// loop's: a connection kept on either counts, and one that ends frees room.
TEST(ForwarderHttpServer, TwoLoopsShareTheConnectionCaps) {
    ServerLimits limits;
    limits.gate.loops = 2;
    limits.gate.maxPerAddress = 6;
    Server s(limits);
    std::vector<UniqueFd> kept;
    for (int i = 0; i < 6; ++i) {
        kept.push_back(connectTo(s.port, "127.0.0.9"));
        sendText(kept.back(), "GET /loop?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_NE(oneAnswer(kept.back()).find("\"" + std::to_string(i) + "\""), std::string::npos);
    }
    auto over = connectTo(s.port, "127.0.0.9");
    expectJsonError(answer(over), "429");
    kept.pop_back();  // closed: the gate notices on its loop and frees its place
    std::string reply;
    for (int tries = 0; tries < 100 && reply.rfind("HTTP/1.1 200", 0) != 0; ++tries) {
        auto again = connectTo(s.port, "127.0.0.9");
        sendText(again, "GET /loop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        reply = answer(again);
    }
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    // Kept connections on both loops go on being answered.
    for (auto& fd : kept) {
        sendText(fd, "GET /loop?n=again HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_NE(oneAnswer(fd).find("\"again\""), std::string::npos);
    }
}

namespace {

// A peer that answers each request with its target as a JSON string, on a
// kept connection, after `delay`.
ScriptedServer echoPeer(std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    return ScriptedServer([delay](int fd) {
        for (;;) {
            auto request = imagebuild::testing::readRequest(fd);
            if (request.empty()) {
                return;
            }
            std::this_thread::sleep_for(delay);
            auto target = request.substr(4, request.find(' ', 4) - 4);
            imagebuild::testing::answer(fd, "\"" + target + "\"");
        }
    });
}

}  // namespace

// A request about a peer's build is passed on by the gate's loop itself:
// no thread serves it, the peer's connection is kept for the next one, and
// the client's is kept too.
TEST(ForwarderHttpServer, ARelayedRequestIsAnsweredOnTheLoopFromThePeersAnswer) {
    auto peer = echoPeer();
    Server s({});
    s.peerPort = static_cast<unsigned short>(std::stoi(peer.url().port));
    auto fd = connectTo(s.port);
    for (int i = 0; i < 3; ++i) {
        sendText(fd, "GET /relay?n=b" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        auto reply = oneAnswer(fd);
        EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
        EXPECT_NE(reply.find("\r\n\r\n\"/b" + std::to_string(i) + "\""), std::string::npos)
            << reply;
    }
    EXPECT_EQ(s.relayed, 3);
    EXPECT_EQ(s.served, 0);
    EXPECT_EQ(peer.accepted(), 1);
}

TEST(ForwarderHttpServer, PipelinedRelayedAndLoopRequestsAreAnsweredInOrder) {
    auto peer = echoPeer(std::chrono::milliseconds(50));
    Server s({});
    s.peerPort = static_cast<unsigned short>(std::stoi(peer.url().port));
    auto fd = connectTo(s.port);
    sendText(fd,
             "GET /relay?n=a HTTP/1.1\r\nHost: x\r\n\r\nGET /loop?n=b HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /relay?n=c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto reply = answer(fd);
    auto a = reply.find("\"/a\""), b = reply.find("\"b\""), c = reply.find("\"/c\"");
    EXPECT_TRUE(a < b && b < c && c != std::string::npos) << reply;
    EXPECT_EQ(countOf(reply, "HTTP/1.1 200 OK"), 3u) << reply;
    EXPECT_EQ(countOf(reply, "Connection: close"), 1u) << reply;
}

// While a peer takes its time, the loop serves every other connection.
TEST(ForwarderHttpServer, ARelayWaitingForItsPeerHoldsUpNoOtherConnection) {
    auto peer = echoPeer(std::chrono::milliseconds(1500));
    Server s({});
    s.peerPort = static_cast<unsigned short>(std::stoi(peer.url().port));
    auto slow = connectTo(s.port);
    sendText(slow, "GET /relay?n=slow HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the relay is in flight
    auto quick =
        roundTrip(s.port, "GET /loop?n=q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(quick.find("\"q\""), std::string::npos) << quick;
    EXPECT_EQ(s.relayed, 0);  // the quick answer did not wait for the slow one
    EXPECT_NE(oneAnswer(slow).find("\"/slow\""), std::string::npos);
    EXPECT_EQ(s.relayed, 1);
}

TEST(ForwarderHttpServer, APeerThatCannotBeReachedIsOurErrorOnTheLoop) {
    Server s({});
    {
        auto gone = echoPeer();
        s.peerPort = static_cast<unsigned short>(std::stoi(gone.url().port));
    }
    auto reply =
        roundTrip(s.port, "GET /relay?n=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expectJsonError(reply, "502");
    EXPECT_NE(reply.find("connecting: Connection refused"), std::string::npos) << reply;
    EXPECT_EQ(s.served, 0);
}

// An answer larger than the client's socket takes at once waits for the
// client to read it, without holding anyone up; the connection is kept.
TEST(ForwarderHttpServer, ALargeAnswerWaitsForAClientThatReadsLate) {
    std::string big(8 << 20, 'x');
    ScriptedServer peer([&big](int fd) {
        while (!imagebuild::testing::readRequest(fd).empty()) {
            imagebuild::testing::answer(fd, "\"" + big + "\"");
        }
    });
    Server s({});
    s.peerPort = static_cast<unsigned short>(std::stoi(peer.url().port));
    auto fd = connectTo(s.port);
    sendText(fd, "GET /relay?n=big HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto quick =
        roundTrip(s.port, "GET /loop?n=q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(quick.find("\"q\""), std::string::npos) << quick;
    auto reply = oneAnswer(fd);
    // The peer's JSON string and jsonResponse's newline, whole.
    EXPECT_NE(reply.find("\r\nContent-Length: " + std::to_string(big.size() + 3) + "\r\n"),
              std::string::npos);
    EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), "\"" + big + "\"\n");
    sendText(fd, "GET /loop?n=after HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(oneAnswer(fd).find("\"after\""), std::string::npos);
}

// One that never reads is cut once it has read nothing for
// request_timeout_sec: it holds one answer's memory, not for ever.
TEST(ForwarderHttpServer, AClientThatNeverReadsALargeAnswerIsCut) {
    std::string big(32 << 20, 'x');  // more than socket buffers hold
    ScriptedServer peer([&big](int fd) {
        while (!imagebuild::testing::readRequest(fd).empty()) {
            imagebuild::testing::answer(fd, "\"" + big + "\"");
        }
    });
    ServerLimits limits;
    limits.idleTimeoutSec = 1;
    Server s(limits);
    s.peerPort = static_cast<unsigned short>(std::stoi(peer.url().port));
    auto fd = connectTo(s.port);
    sendText(fd, "GET /relay?n=big HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // reads nothing
    auto got = answer(fd);  // what the socket buffers held, then the end
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_LT(got.size(), big.size());
}
