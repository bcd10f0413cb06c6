#include "forwarder/peer_client.hpp"

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/uio.h>
#include <array>
#include <cerrno>
#include <limits>
#include <optional>

#include "forwarder/config.hpp"

namespace imagebuild::forwarder {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Each connection has its own io_context: connecting (and every read of a
// stream) runs the context until its handler fires or the stream's deadline
// closes the socket. A pooled connection is then used blocking (see
// BlockingSocket); `sendTimeout`/`receiveTimeout` are its socket's
// SO_SNDTIMEO/SO_RCVTIMEO now.
struct PeerClient::Connection {
    asio::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;
    std::chrono::milliseconds sendTimeout{0};
    std::chrono::milliseconds receiveTimeout{0};
};

namespace {

constexpr std::size_t kMaxIdle = 64;
constexpr std::uint64_t kBodyLimit = 64ull * 1024 * 1024;

template <typename Start>
void runFor(PeerClient::Connection& c, std::chrono::milliseconds timeout, const char* what,
            Start&& start) {
    beast::error_code result = asio::error::would_block;
    c.stream.expires_after(timeout);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    c.io.restart();
    c.io.run();
    if (result) {
        throw PeerError(fmt::format("{}: {}", what, result.message()));
    }
}

// A pooled connection's socket, read and written by blocking calls: a request
// costs one sendmsg and (mostly) one recv, with no event loop and no timer.
// The deadline is enforced by SO_SNDTIMEO/SO_RCVTIMEO, changed only when
// what the socket has differs from what is left of the deadline by more than
// kSlack (so, for a response that arrives in one piece, never): a call
// returns at the latest kSlack after the deadline.
class BlockingSocket {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds kSlack{50};

    BlockingSocket(PeerClient::Connection& c, std::chrono::milliseconds timeout)
        : c_(c), fd_(c.stream.socket().native_handle()), deadline_(Clock::now() + timeout) {}

    template <typename Buffers>
    std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
        return transfer(buffers, ec, false);
    }
    template <typename Buffers>
    std::size_t read_some(const Buffers& buffers) {
        return orThrow([&](beast::error_code& ec) { return read_some(buffers, ec); });
    }
    template <typename Buffers>
    std::size_t write_some(const Buffers& buffers, beast::error_code& ec) {
        return transfer(buffers, ec, true);
    }
    template <typename Buffers>
    std::size_t write_some(const Buffers& buffers) {
        return orThrow([&](beast::error_code& ec) { return write_some(buffers, ec); });
    }

private:
    template <typename F>
    static std::size_t orThrow(F&& f) {
        beast::error_code ec;
        auto n = f(ec);
        if (ec) {
            throw beast::system_error(ec);
        }
        return n;
    }

    // Sets the socket's timeout for this direction to what is left, if needed.
    bool arm(bool send, beast::error_code& ec) {
        using std::chrono::milliseconds;
        auto left = std::chrono::ceil<milliseconds>(deadline_ - Clock::now());
        if (left <= milliseconds(0)) {
            ec = beast::error::timeout;
            return false;
        }
        auto& current = send ? c_.sendTimeout : c_.receiveTimeout;
        if (current < left || current > left + kSlack) {
            timeval tv{static_cast<time_t>(left.count() / 1000),
                       static_cast<suseconds_t>(left.count() % 1000 * 1000)};
            if (setsockopt(fd_, SOL_SOCKET, send ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, sizeof(tv)) !=
                0) {
                ec = beast::error_code(errno, boost::system::system_category());
                return false;
            }
            current = left;
        }
        return true;
    }

    template <typename Buffers>
    std::size_t transfer(const Buffers& buffers, beast::error_code& ec, bool send) {
        ec = {};
        std::array<iovec, 16> iov{};
        std::size_t count = 0;
        for (auto it = asio::buffer_sequence_begin(buffers);
             it != asio::buffer_sequence_end(buffers) && count < iov.size(); ++it) {
            asio::const_buffer b(*it);
            if (b.size() != 0) {
                iov[count++] = {const_cast<void*>(b.data()), b.size()};
            }
        }
        if (count == 0) {
            return 0;
        }
        if (!arm(send, ec)) {
            return 0;
        }
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = count;
        ssize_t n;
        do {
            n = send ? ::sendmsg(fd_, &msg, MSG_NOSIGNAL) : ::recvmsg(fd_, &msg, 0);
        } while (n < 0 && errno == EINTR);
        if (n > 0) {
            return static_cast<std::size_t>(n);
        }
        if (n == 0) {
            ec = asio::error::eof;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            ec = beast::error::timeout;
        } else {
            ec = beast::error_code(errno, boost::system::system_category());
        }
        return 0;
    }

    PeerClient::Connection& c_;
    int fd_;
    Clock::time_point deadline_;
};

http::request<http::string_body> buildRequest(const PeerRequest& r, const std::string& host,
                                              const std::string& token) {
    http::request<http::string_body> req;
    req.method_string(r.method);
    req.target(r.target);
    req.version(11);
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "imagebuild-forwarder");
    req.keep_alive(true);
    if (!token.empty()) {
        req.set(http::field::authorization, "Bearer " + token);
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

template <typename Fields>
void copyHead(const Fields& fields, PeerResponse& out) {
    for (const auto& field : fields) {
        auto name = std::string(field.name_string());
        auto value = std::string(field.value());
        if (beast::iequals(name, "content-type")) {
            out.contentType = value;
        } else if (beast::iequals(name, "etag") || beast::iequals(name, "content-range") ||
                   beast::iequals(name, "accept-ranges") ||
                   beast::iequals(name, "www-authenticate") ||
                   beast::iequals(name, "cache-control") || beast::iequals(name, "location")) {
            out.headers.emplace_back(name, value);
        }
    }
}

class BeastStream final : public PeerStream {
public:
    BeastStream(std::unique_ptr<PeerClient::Connection> connection,
                std::chrono::milliseconds headTimeout, std::chrono::milliseconds idleTimeout)
        : connection_(std::move(connection)), idleTimeout_(idleTimeout) {
        // Artifacts are large; Beast 1.74 takes a number here (boost::none would be 0).
        parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
        runFor(*connection_, headTimeout, "reading the peer's response head", [this](auto handler) {
            http::async_read_header(connection_->stream, connection_->buffer, parser_,
                                    std::move(handler));
        });
        head_.status = parser_.get().result_int();
        if (auto length = parser_.content_length()) {
            head_.contentLength = *length;
        }
        copyHead(parser_.get(), head_);
    }

    const PeerResponse& head() const override { return head_; }

    std::size_t read(char* buffer, std::size_t max) override {
        while (!parser_.is_done()) {
            parser_.get().body().data = buffer;
            parser_.get().body().size = max;
            beast::error_code result;
            connection_->stream.expires_after(idleTimeout_);
            http::async_read_some(connection_->stream, connection_->buffer, parser_,
                                  [&result](beast::error_code ec, std::size_t) { result = ec; });
            connection_->io.restart();
            connection_->io.run();
            if (result && result != http::error::need_buffer) {
                throw PeerError("reading the peer's response: " + result.message());
            }
            std::size_t got = max - parser_.get().body().size;
            if (got > 0) {
                return got;
            }
        }
        return 0;
    }

private:
    std::unique_ptr<PeerClient::Connection> connection_;
    std::chrono::milliseconds idleTimeout_;
    http::response_parser<http::buffer_body> parser_;
    PeerResponse head_;
};

}  // namespace

PeerClient::PeerClient(std::string baseUrl, std::string fleetToken)
    : baseUrl_(std::move(baseUrl)), fleetToken_(std::move(fleetToken)) {
    auto hostPort = std::string_view(baseUrl_).substr(std::string_view("http://").size());
    if (hostPort.find(':') == std::string_view::npos) {
        host_ = std::string(hostPort);
        port_ = "80";
    } else {
        auto [host, port] = splitHostPort(hostPort);
        host_ = host;
        port_ = std::to_string(port);
    }
}

PeerClient::~PeerClient() = default;

std::unique_ptr<PeerClient::Connection> PeerClient::take(std::chrono::milliseconds timeout,
                                                         bool& reused, bool fresh) {
    if (!fresh) {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            reused = true;
            return connection;
        }
    }
    reused = false;
    auto connection = std::make_unique<Connection>();
    tcp::resolver resolver(connection->io);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) {
        throw PeerError(fmt::format("resolving {}: {}", host_, ec.message()));
    }
    runFor(*connection, timeout, "connecting",
           [&](auto handler) { connection->stream.async_connect(endpoints, std::move(handler)); });
    connection->stream.expires_never();
    return connection;
}

void PeerClient::giveBack(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdle) {
        idle_.push_back(std::move(connection));
    }
}

PeerResponse PeerClient::request(const PeerRequest& request, std::chrono::milliseconds timeout) {
    auto req = buildRequest(request, host_, fleetToken_);
    // A pooled connection may have been closed by the peer meanwhile: retry
    // once on a fresh one. Only then is a failure the peer's. Not after a
    // timeout or once any of an answer came: the peer may have acted on the
    // request (a POST would be submitted twice).
    for (int attempt = 0;; ++attempt) {
        bool reused = false;
        bool closedUnderUs = false;
        auto connection = take(timeout, reused, false);
        try {
            beast::error_code ec;
            if (!reused) {
                connection->stream.socket().native_non_blocking(false, ec);
                if (ec) {
                    throw PeerError("making the socket blocking: " + ec.message());
                }
            }
            BlockingSocket sending(*connection, timeout);
            http::write(sending, req, ec);
            if (ec) {
                closedUnderUs = ec != beast::error::timeout;
                throw PeerError("sending: " + ec.message());
            }
            http::response_parser<http::string_body> parser;
            parser.body_limit(kBodyLimit);
            BlockingSocket reading(*connection, timeout);
            http::read(reading, connection->buffer, parser, ec);
            if (ec) {
                closedUnderUs = !parser.got_some() &&
                                (ec == asio::error::eof || ec == asio::error::connection_reset ||
                                 ec == http::error::end_of_stream);
                throw PeerError("reading the response: " + ec.message());
            }
            auto res = parser.release();
            PeerResponse out;
            out.status = res.result_int();
            copyHead(res, out);
            out.body = std::move(res.body());
            if (res.keep_alive()) {
                giveBack(std::move(connection));
            }
            return out;
        } catch (const PeerError&) {
            if (!reused || attempt > 0 || !closedUnderUs) {
                throw;
            }
        }
    }
}

std::unique_ptr<PeerStream> PeerClient::stream(const PeerRequest& request,
                                               std::chrono::milliseconds timeout,
                                               std::chrono::milliseconds idleTimeout) {
    auto req = buildRequest(request, host_, fleetToken_);
    req.keep_alive(false);  // a stream's connection is never reused
    bool reused = false;
    auto connection = take(timeout, reused, /*fresh=*/true);
    runFor(*connection, timeout, "sending",
           [&](auto handler) { http::async_write(connection->stream, req, std::move(handler)); });
    return std::make_unique<BeastStream>(std::move(connection), timeout, idleTimeout);
}

}  // namespace imagebuild::forwarder
