// PeerClient against a scripted server on a loopback socket: keep-alive reuse,
// a pooled connection the peer closed, a peer that never answers (deadline).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"
#include "forwarder/peer_client.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;
using namespace std::chrono_literals;

namespace {

// Accepts connections one after the other; `serve` gets each one.
class ScriptedPeer {
public:
    explicit ScriptedPeer(std::function<void(int fd)> serve) : serve_(std::move(serve)) {
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
    ~ScriptedPeer() {
        shutdown(listen_.get(), SHUT_RDWR);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int accepted() const { return accepted_; }

private:
    std::function<void(int)> serve_;
    UniqueFd listen_;
    int port_ = 0;
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

// Reads one request head (these tests send no bodies).
bool readHead(int fd) {
    std::string got;
    char c;
    while (got.find("\r\n\r\n") == std::string::npos) {
        if (read(fd, &c, 1) != 1) {
            return false;
        }
        got += c;
    }
    return true;
}

void answer(int fd, const std::string& body) {
    auto text =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"x\"\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

PeerRequest get(const std::string& target) {
    PeerRequest r;
    r.target = target;
    return r;
}

}  // namespace

TEST(ForwarderPeerClient, KeepAliveConnectionIsReused) {
    ScriptedPeer peer([](int fd) {
        for (int n = 0; readHead(fd); ++n) {
            answer(fd, "{\"n\":" + std::to_string(n) + "}");
        }
    });
    PeerClient client(peer.url(), "");
    for (int n = 0; n < 3; ++n) {
        auto response = client.request(get("/v1/health"), 2000ms);
        EXPECT_EQ(response.status, 200u);
        EXPECT_EQ(response.contentType, "application/json");
        EXPECT_EQ(response.body, "{\"n\":" + std::to_string(n) + "}");
        ASSERT_EQ(response.headers.size(), 1u);
        EXPECT_EQ(response.headers[0].second, "\"x\"");
    }
    EXPECT_EQ(peer.accepted(), 1);
}

TEST(ForwarderPeerClient, ConnectionClosedByThePeerIsRetriedOnAFreshOne) {
    // Answers one request per connection, then closes it (keep-alive promised).
    ScriptedPeer peer([](int fd) {
        if (readHead(fd)) {
            answer(fd, "{}");
        }
    });
    PeerClient client(peer.url(), "");
    EXPECT_EQ(client.request(get("/a"), 2000ms).status, 200u);
    std::this_thread::sleep_for(50ms);  // the peer has closed the pooled connection
    EXPECT_EQ(client.request(get("/b"), 2000ms).status, 200u);
    EXPECT_EQ(peer.accepted(), 2);
}

TEST(ForwarderPeerClient, PeerThatNeverAnswersTimesOut) {
    ScriptedPeer peer([](int fd) {
        readHead(fd);
        char c;
        (void)read(fd, &c, 1);  // until the client gives up and closes
    });
    PeerClient client(peer.url(), "");
    // Without the deadline this would wait forever (and meson's timeout fail it).
    try {
        client.request(get("/slow"), 300ms);
        FAIL() << "no PeerError";
    } catch (const PeerError& e) {
        EXPECT_NE(std::string(e.what()).find("reading the response"), std::string::npos)
            << e.what();
    }
}

TEST(ForwarderPeerClient, NobodyListeningIsAPeerError) {
    int port = 0;
    {
        ScriptedPeer peer([](int) {});
        port = std::stoi(peer.url().substr(peer.url().rfind(':') + 1));
    }
    PeerClient client("http://127.0.0.1:" + std::to_string(port), "");
    EXPECT_THROW(client.request(get("/"), 500ms), PeerError);
}

// A request on a reused connection that the peer took but never answered is
// not sent again: the peer may have acted on it (a POST submits a build).
TEST(ForwarderPeerClient, TimeoutOnAReusedConnectionIsNotRetried) {
    std::atomic<int> requests{0};
    ScriptedPeer peer([&requests](int fd) {
        if (readHead(fd)) {
            ++requests;
            answer(fd, "{}");
        }
        if (readHead(fd)) {
            ++requests;
            char c;
            (void)read(fd, &c, 1);  // never answers; until the client closes
        }
    });
    PeerClient client(peer.url(), "");
    EXPECT_EQ(client.request(get("/first"), 2000ms).status, 200u);
    EXPECT_THROW(client.request(get("/second"), 300ms), PeerError);
    EXPECT_EQ(requests.load(), 2);
    EXPECT_EQ(peer.accepted(), 1);
}
