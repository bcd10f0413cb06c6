// A scripted HTTP server on a loopback socket of the test's process, for
// the HTTP clients' tests (http_client.hpp, http_loop_client.hpp): each
// accepted connection is handed to the script, on the server's thread.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_loop_client.hpp"
#include "common/http_url.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild::testing {

// Accepts connections one after the other; `serve` gets each one.
class ScriptedServer {
public:
    explicit ScriptedServer(std::function<void(int fd)> serve) : serve_(std::move(serve)) {
        listen_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        EXPECT_EQ(listen(listen_.get(), 8), 0);
        socklen_t len = sizeof(addr);
        getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] {
            while (true) {
                int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) {
                    return;
                }
                ++accepted_;
                serve_(fd);
                close(fd);
            }
        });
    }
    ~ScriptedServer() {
        shutdown(listen_.get(), SHUT_RDWR);
        thread_.join();
    }
    HttpUrl url() const { return *parseHttpUrl("http://127.0.0.1:" + std::to_string(port_)); }
    int accepted() const { return accepted_; }

private:
    std::function<void(int)> serve_;
    UniqueFd listen_;
    int port_ = 0;
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

// Reads one request head, and `body` more bytes after it.
inline std::string readRequest(int fd, std::size_t body = 0) {
    std::string got;
    char c;
    while (got.find("\r\n\r\n") == std::string::npos ||
           got.size() < got.find("\r\n\r\n") + 4 + body) {
        if (read(fd, &c, 1) != 1) {
            return {};
        }
        got += c;
    }
    return got;
}

// `bytes` as an HttpLoopClient (or HttpPolledStream) request to `server`.
inline HttpLoopRequest loopRequestTo(const ScriptedServer& server, std::string bytes,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    HttpLoopRequest request;
    auto* in = reinterpret_cast<sockaddr_in*>(&request.address);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<std::uint16_t>(std::stoi(server.url().port)));
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    request.length = sizeof(sockaddr_in);
    request.bytes = std::move(bytes);
    request.timeout = timeout;
    return request;
}

// This process's threads now: what a client or server under test started.
inline std::size_t threadCount() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& task :
         std::filesystem::directory_iterator("/proc/self/task")) {
        ++n;
    }
    return n;
}

inline void send(int fd, const std::string& text) {
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

inline void answer(int fd, const std::string& body) {
    send(fd,
         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"x\"\r\n"
         "Content-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body);
}

// Scripts. Answers every request of a connection, keeping it.
inline void answersEveryRequest(int fd) {
    while (!readRequest(fd).empty()) {
        answer(fd, "{}");
    }
}

// Answers one request per connection, then closes it (keep-alive promised
// all the same).
inline void answersOneRequest(int fd) {
    if (!readRequest(fd).empty()) {
        answer(fd, "{}");
    }
}

// Takes a connection's request and never answers it: waits until the
// client closes.
inline void neverAnswers(int fd) {
    readRequest(fd);
    char c;
    (void)!read(fd, &c, 1);
}

// Answers a connection's first request, takes its second and
// never answers it (until the client closes); counts the requests taken.
inline std::function<void(int)> answersOnceThenHangs(std::atomic<int>& requests) {
    return [&requests](int fd) {
        if (!readRequest(fd).empty()) {
            ++requests;
            answer(fd, "{}");
        }
        if (!readRequest(fd).empty()) {
            ++requests;
            char c;
            (void)read(fd, &c, 1);
        }
    };
}

// A field of an answer by its exact name; "-" if it has none.
inline std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
        if (n == name) {
            return v;
        }
    }
    return "-";
}

}  // namespace imagebuild::testing
