#include "common/http_client.hpp"

#include "common/http_message.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <limits>

namespace imagebuild {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HttpError::HttpError(HttpStep step, std::string stepWords, std::string detail, bool timedOut,
                     bool refused, bool busy)
    : std::runtime_error(stepWords + ": " + detail),
      step_(step),
      detail_(std::move(detail)),
      timedOut_(timedOut),
      refused_(refused),
      busy_(busy) {}

// Each connection has its own io_context: connecting (and every read of a
// stream) runs the context until its handler fires or the stream's deadline
// closes the socket. A pooled connection is then used blocking (see
// BlockingSocket); `sendTimeout`/`receiveTimeout` are its socket's
// SO_SNDTIMEO/SO_RCVTIMEO now.
struct HttpClient::Connection {
    asio::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;
    std::chrono::milliseconds sendTimeout{0};
    std::chrono::milliseconds receiveTimeout{0};
};

namespace {

bool isTimeout(const beast::error_code& ec) {
    return ec == beast::error::timeout || ec == asio::error::timed_out;
}

[[noreturn]] void fail(HttpStep step, const char* words, const beast::error_code& ec) {
    throw HttpError(step, words, ec.message(), isTimeout(ec));
}

template <typename Start>
void runFor(HttpClient::Connection& c, std::chrono::milliseconds timeout, HttpStep step,
            const char* words, Start&& start) {
    beast::error_code result = asio::error::would_block;
    if (timeout == kNoTimeout) {
        c.stream.expires_never();
    } else {
        c.stream.expires_after(timeout);
    }
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    c.io.restart();
    c.io.run();
    if (result) {
        fail(step, words, result);
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

    BlockingSocket(HttpClient::Connection& c, std::chrono::milliseconds timeout)
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

    HttpClient::Connection& c_;
    int fd_;
    Clock::time_point deadline_;
};

class BeastStream final : public HttpStream {
public:
    BeastStream(std::unique_ptr<HttpClient::Connection> connection,
                std::chrono::milliseconds headTimeout, std::chrono::milliseconds idleTimeout)
        : connection_(std::move(connection)), idleTimeout_(idleTimeout) {
        // Artifacts are large; Beast 1.74 takes a number here (boost::none would be 0).
        parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
        runFor(*connection_, headTimeout, HttpStep::Receive, "reading the response head",
               [this](auto handler) {
                   http::async_read_header(connection_->stream, connection_->buffer, parser_,
                                           std::move(handler));
               });
        copyResponseHead(parser_.get(), head_);
        if (auto length = parser_.content_length()) {
            head_.contentLength = *length;
        }
    }

    const HttpResponse& head() const override { return head_; }

    std::size_t read(char* buffer, std::size_t max) override {
        while (!parser_.is_done()) {
            parser_.get().body().data = buffer;
            parser_.get().body().size = max;
            beast::error_code result;
            if (idleTimeout_ == kNoTimeout) {
                connection_->stream.expires_never();
            } else {
                connection_->stream.expires_after(idleTimeout_);
            }
            http::async_read_some(connection_->stream, connection_->buffer, parser_,
                                  [&result](beast::error_code ec, std::size_t) { result = ec; });
            connection_->io.restart();
            connection_->io.run();
            if (result && result != http::error::need_buffer) {
                fail(HttpStep::Receive, "reading the response", result);
            }
            std::size_t got = max - parser_.get().body().size;
            if (got > 0) {
                return got;
            }
        }
        return 0;
    }

private:
    std::unique_ptr<HttpClient::Connection> connection_;
    std::chrono::milliseconds idleTimeout_;
    http::response_parser<http::buffer_body> parser_;
    HttpResponse head_;
};

// The resolved addresses that may be connected to; the first refusal in `why`.
std::vector<tcp::endpoint> allowedEndpoints(const tcp::resolver::results_type& resolved,
                                            const HttpClientOptions& options, std::string& why) {
    std::vector<tcp::endpoint> out;
    for (const auto& entry : resolved) {
        auto refusal =
            options.refuseAddress ? options.refuseAddress(entry.endpoint().address()) : "";
        if (refusal.empty()) {
            out.push_back(entry.endpoint());
        } else if (why.empty()) {
            why = refusal;
        }
    }
    return out;
}

}  // namespace

HttpClient::HttpClient(HttpUrl url, HttpClientOptions options)
    : url_(std::move(url)),
      options_(std::move(options)),
      pool_(options_.maxOpen, options_.maxIdle) {}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Connection> HttpClient::take(std::chrono::milliseconds timeout,
                                                         bool& reused, bool fresh) {
    reused = false;
    if (fresh) {
        return connect(timeout);
    }
    auto taken = pool_.take(std::chrono::steady_clock::now() + timeout);
    if (taken.idle) {
        reused = true;
        return std::move(taken.idle);
    }
    if (taken.timedOut) {
        throw HttpError(HttpStep::Connect, "connecting",
                        fmt::format("all {} connections to {} were busy for {} ms",
                                    options_.maxOpen, url_.host, timeout.count()),
                        true, false, /*busy=*/true);
    }
    try {
        return connect(timeout);
    } catch (...) {
        pool_.closed();
        throw;
    }
}

std::unique_ptr<HttpClient::Connection> HttpClient::connect(std::chrono::milliseconds timeout) {
    auto connection = std::make_unique<Connection>();
    tcp::resolver resolver(connection->io);
    beast::error_code ec;
    auto resolved = resolver.resolve(url_.host, url_.port, ec);
    if (ec) {
        throw HttpError(HttpStep::Resolve, "resolving " + url_.host, ec.message(), false);
    }
    std::string refused;
    auto endpoints = allowedEndpoints(resolved, options_, refused);
    if (endpoints.empty()) {
        throw HttpError(HttpStep::Connect, "connecting", refused, false, true);
    }
    runFor(*connection, timeout, HttpStep::Connect, "connecting",
           [&](auto handler) { connection->stream.async_connect(endpoints, std::move(handler)); });
    connection->stream.expires_never();
    return connection;
}

HttpResponse HttpClient::request(const HttpRequest& request, std::chrono::milliseconds timeout) {
    auto bytes = httpRequestBytes(request, url_, options_, options_.maxIdle > 0);
    // A pooled connection may have been closed by the server meanwhile: retry
    // once on a fresh one. Only then is a failure the server's. Not after a
    // timeout or once any of an answer came: the server may have acted on the
    // request (a POST would be submitted twice).
    for (int attempt = 0;; ++attempt) {
        bool reused = false;
        bool closedUnderUs = false;
        // Counted as open (maxOpen) until given back to the pool; closed if not.
        CappedPool<Connection>::Held connection(pool_, take(timeout, reused, false));
        try {
            beast::error_code ec;
            if (!reused) {
                connection->stream.socket().native_non_blocking(false, ec);
                if (ec) {
                    throw HttpError(HttpStep::Connect, "making the socket blocking", ec.message(),
                                    false);
                }
            }
            BlockingSocket sending(*connection, timeout);
            asio::write(sending, asio::buffer(bytes), ec);
            if (ec) {
                closedUnderUs = !isTimeout(ec);
                fail(HttpStep::Send, "sending", ec);
            }
            http::response_parser<http::string_body> parser;
            parser.body_limit(options_.bodyLimit);
            BlockingSocket reading(*connection, timeout);
            http::read(reading, connection->buffer, parser, ec);
            if (ec) {
                closedUnderUs = !parser.got_some() &&
                                (ec == asio::error::eof || ec == asio::error::connection_reset ||
                                 ec == http::error::end_of_stream);
                fail(HttpStep::Receive, "reading the response", ec);
            }
            auto res = parser.release();
            auto out = responseOf(res);
            if (options_.maxIdle > 0 && res.keep_alive()) {
                connection.giveBack();
            } else {
                beast::error_code ignored;
                connection->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            }
            return out;
        } catch (const HttpError&) {
            if (!reused || attempt > 0 || !closedUnderUs) {
                throw;
            }
        }
    }
}

std::unique_ptr<HttpStream> HttpClient::stream(const HttpRequest& request,
                                               std::chrono::milliseconds timeout,
                                               std::chrono::milliseconds idleTimeout) {
    // A stream's connection is never reused.
    auto bytes = httpRequestBytes(request, url_, options_, false);
    bool reused = false;
    auto connection = take(timeout, reused, /*fresh=*/true);
    runFor(*connection, timeout, HttpStep::Send, "sending", [&](auto handler) {
        asio::async_write(connection->stream, asio::buffer(bytes), std::move(handler));
    });
    return std::make_unique<BeastStream>(std::move(connection), timeout, idleTimeout);
}

namespace {

// One request on the caller's io_context: resolve, connect, write, read, each
// step started by the one before; a timer over the whole closes whatever is
// in flight when the deadline passes. Kept alive by the handlers' shared_ptr.
class AsyncExchange : public std::enable_shared_from_this<AsyncExchange> {
public:
    AsyncExchange(asio::io_context& io, const HttpUrl& url, const HttpRequest& request,
                  const HttpClientOptions& options, std::chrono::milliseconds timeout,
                  HttpDone done)
        : url_(url),
          timeout_(timeout),
          resolver_(io),
          socket_(io),
          deadline_(io),
          request_(httpRequestBytes(request, url, options, false)),
          done_(std::move(done)) {
        parser_.body_limit(options.bodyLimit);
    }

    void start() {
        deadline_.expires_after(timeout_);
        deadline_.async_wait(std::bind_front(&AsyncExchange::onDeadline, shared_from_this()));
        resolver_.async_resolve(url_.host, url_.port,
                                std::bind_front(&AsyncExchange::onResolved, shared_from_this()));
    }

private:
    void onDeadline(beast::error_code ec) {
        if (ec || finished_) {
            return;  // cancelled: the exchange ended first
        }
        timedOut_ = true;
        resolver_.cancel();
        beast::error_code ignored;
        socket_.close(ignored);
    }

    void onResolved(beast::error_code ec, const tcp::resolver::results_type& endpoints) {
        if (ec || timedOut_) {
            // A name lookup cannot be cancelled once it runs.
            return failed(HttpStep::Resolve, "resolving " + url_.host, ec);
        }
        asio::async_connect(socket_, endpoints,
                            std::bind_front(&AsyncExchange::onConnected, shared_from_this()));
    }

    void onConnected(beast::error_code ec, const tcp::endpoint& endpoint) {
        if (ec) {
            return failed(HttpStep::Connect, "connecting", ec);
        }
        connected_ = endpoint;
        asio::async_write(socket_, asio::buffer(request_),
                          std::bind_front(&AsyncExchange::onWritten, shared_from_this()));
    }

    void onWritten(beast::error_code ec, std::size_t) {
        if (ec) {
            return failed(HttpStep::Send, "sending", ec);
        }
        http::async_read(socket_, buffer_, parser_,
                         std::bind_front(&AsyncExchange::onRead, shared_from_this()));
    }

    void onRead(beast::error_code ec, std::size_t) {
        if (ec) {
            return failed(HttpStep::Receive, "reading the response", ec);
        }
        auto response = responseOf(parser_.get());
        response.peerAddress = connected_.address();
        response.peerPort = connected_.port();
        finish(&response, nullptr);
    }

    void failed(HttpStep step, const std::string& words, beast::error_code ec) {
        if (timedOut_) {
            HttpError error(step, words, fmt::format("no answer within {} ms", timeout_.count()),
                            true);
            return finish(nullptr, &error);
        }
        HttpError error(step, words, ec.message(), false);
        finish(nullptr, &error);
    }

    void finish(const HttpResponse* response, const HttpError* error) {
        finished_ = true;
        deadline_.cancel();
        beast::error_code ignored;
        socket_.close(ignored);
        done_(response, error);
    }

    HttpUrl url_;
    std::chrono::milliseconds timeout_;
    tcp::resolver resolver_;
    tcp::socket socket_;
    asio::steady_timer deadline_;
    beast::flat_buffer buffer_;
    std::string request_;
    http::response_parser<http::string_body> parser_;
    HttpDone done_;
    tcp::endpoint connected_;
    bool timedOut_ = false;
    bool finished_ = false;
};

}  // namespace

void asyncHttpRequest(asio::io_context& io, const HttpUrl& url, const HttpRequest& request,
                      const HttpClientOptions& options, std::chrono::milliseconds timeout,
                      HttpDone done) {
    std::make_shared<AsyncExchange>(io, url, request, options, timeout, std::move(done))->start();
}

}  // namespace imagebuild
