#include "common/http_polled_stream.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstring>

#include "common/http_message.hpp"

namespace imagebuild {

namespace http = boost::beast::http;

struct HttpPolledStream::Parser {
    http::response_parser<http::string_body> parser;
};

HttpPolledStream::HttpPolledStream(HttpLoopRequest request, std::chrono::milliseconds idleTimeout)
    : request_(std::move(request)),
      idleTimeout_(idleTimeout),
      parser_(std::make_unique<Parser>()),
      deadline_(Clock::now() + request_.timeout) {
    // A log has no length limit: its body is handed out as it comes.
    parser_->parser.body_limit(boost::none);
    parser_->parser.eager(true);
    try {
        fd_ = startConnecting(request_, connecting_);
    } catch (const HttpError& e) {
        fail(HttpStep::Connect, "connecting", e.detail());
    }
}

HttpPolledStream::~HttpPolledStream() = default;

int HttpPolledStream::fd() const {
    return over() ? -1 : fd_.get();
}

short HttpPolledStream::events() const {
    return connecting_ || sent_ < request_.bytes.size() ? POLLOUT : POLLIN;
}

void HttpPolledStream::step(std::string& body, std::size_t max, Clock::time_point now) {
    if (over()) {
        return;
    }
    if (connected() && sendRest()) {
        receive(body, max);
    }
    if (!over() && now >= deadline_) {
        auto waited = head_ ? idleTimeout_ : request_.timeout;
        auto detail = fmt::format("nothing within {} ms", waited.count());
        if (connecting_) {
            fail(HttpStep::Connect, "connecting", detail, true);
        } else {
            fail(HttpStep::Receive, "reading the response", detail, true);
        }
    }
}

// True once the connection is made.
bool HttpPolledStream::connected() {
    if (!connecting_) {
        return true;
    }
    pollfd p{fd_.get(), POLLOUT, 0};
    if (::poll(&p, 1, 0) <= 0) {
        return false;
    }
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
        fail(HttpStep::Connect, "connecting", std::strerror(error));
        return false;
    }
    connecting_ = false;
    return true;
}

// True: all of the request is sent.
bool HttpPolledStream::sendRest() {
    const auto& bytes = request_.bytes;
    while (sent_ < bytes.size()) {
        ssize_t n = ::send(fd_.get(), bytes.data() + sent_, bytes.size() - sent_,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            sent_ += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return false;
        } else if (errno != EINTR) {
            fail(HttpStep::Send, "sending", std::strerror(errno));
            return false;
        }
    }
    return true;
}

void HttpPolledStream::receive(std::string& body, std::size_t max) {
    char buffer[16384];
    std::size_t taken = 0;
    while (taken < max && !over()) {
        ssize_t n = recv(fd_.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n > 0) {
            taken += static_cast<std::size_t>(n);
            feed(buffer, static_cast<std::size_t>(n), body);
        } else if (n == 0) {
            endOfConnection();
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            fail(HttpStep::Receive, "reading the response", std::strerror(errno));
        }
    }
}

void HttpPolledStream::feed(const char* data, std::size_t size, std::string& body) {
    auto& parser = parser_->parser;
    std::string_view input(data, size);
    if (!unparsed_.empty()) {
        unparsed_.append(data, size);
        input = unparsed_;
    }
    boost::beast::error_code ec;
    while (!input.empty() && !parser.is_done()) {
        auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
        input.remove_prefix(used);
        if (ec == http::error::need_more) {
            ec = {};
            break;
        }
        if (ec) {
            return fail(HttpStep::Receive, "reading the response", ec.message());
        }
    }
    unparsed_ = std::string(input);
    if (parser.is_header_done() && !head_) {
        head_.emplace();
        copyResponseHead(parser.get().base(), *head_);
    }
    // The parser appends the body to its string: handed out and emptied.
    auto& got = parser.get().body();
    body += got;
    got.clear();
    if (head_) {
        deadline_ =
            idleTimeout_ == kNoTimeout ? Clock::time_point::max() : Clock::now() + idleTimeout_;
    }
    if (parser.is_done()) {
        done_ = true;
        fd_.reset();
    }
}

// The server closed the connection: the end of an answer that said nothing
// of its length, else a stream cut short.
void HttpPolledStream::endOfConnection() {
    auto& parser = parser_->parser;
    boost::beast::error_code ec;
    if (head_ && unparsed_.empty()) {
        parser.put_eof(ec);
    }
    if (head_ && !ec && parser.is_done()) {
        done_ = true;
        fd_.reset();
        return;
    }
    fail(HttpStep::Receive, "reading the response",
         head_ ? "the peer closed the connection in the middle of the answer"
               : "the peer closed the connection before answering");
}

void HttpPolledStream::fail(HttpStep step, const char* words, std::string detail, bool timedOut) {
    error_ = std::make_unique<HttpError>(step, words, std::move(detail), timedOut);
    fd_.reset();
}

}  // namespace imagebuild
