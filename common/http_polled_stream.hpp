// A streamed HTTP answer (a followed log of a peer's build) read without a
// thread of its own: its owner polls fd() for events() among its other
// descriptors and calls step() when the socket is ready, or once in a
// while to let the deadlines count. The forwarder's follow hub reads one
// per followed peer build this way, on its one thread, for all of them.
//
// The request goes out on a fresh connection (no pool: a stream holds its
// connection to the end); the answer's head is parsed by Boost.Beast's
// parser, fed from non-blocking reads, as HttpLoopClient does, and its body
// is handed out as it comes, its chunked framing undone.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/http_client.hpp"
#include "common/http_loop_client.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild {

class HttpPolledStream {
public:
    using Clock = std::chrono::steady_clock;

    // Starts connecting to request.address. request.timeout bounds the
    // time until the answer's head has come; `idleTimeout` the silence
    // between two pieces of the body after it (kNoTimeout: none).
    HttpPolledStream(HttpLoopRequest request, std::chrono::milliseconds idleTimeout);
    ~HttpPolledStream();
    HttpPolledStream(const HttpPolledStream&) = delete;
    HttpPolledStream& operator=(const HttpPolledStream&) = delete;

    // -1 once the stream is over.
    int fd() const;
    // poll(2) events: POLLOUT until the request is sent, then POLLIN.
    short events() const;

    // Does what the socket allows now, without blocking, and appends the
    // body that came to `body` (at most about `max` bytes a call, so that
    // one fast stream does not starve its owner's others). Past a
    // deadline, fails.
    void step(std::string& body, std::size_t max, Clock::time_point now = Clock::now());

    // The answer's head, once it came (its body stays empty).
    const HttpResponse* head() const { return head_ ? &*head_ : nullptr; }
    // The body ended as its framing says (a last chunk, its length, or the
    // end of a connection that said nothing of its length).
    bool done() const { return done_; }
    // Why it failed (connecting, sending, reading, a deadline); then over.
    const HttpError* error() const { return error_.get(); }
    bool over() const { return done_ || error_; }

private:
    struct Parser;
    bool connected();
    bool sendRest();
    void receive(std::string& body, std::size_t max);
    void feed(const char* data, std::size_t size, std::string& body);
    void endOfConnection();
    void fail(HttpStep step, const char* words, std::string detail, bool timedOut = false);

    HttpLoopRequest request_;
    std::chrono::milliseconds idleTimeout_;
    UniqueFd fd_;
    bool connecting_ = false;
    std::size_t sent_ = 0;
    std::unique_ptr<Parser> parser_;
    std::string unparsed_;  // read, not yet taken by the parser (a partial head)
    std::optional<HttpResponse> head_;
    bool done_ = false;
    std::unique_ptr<HttpError> error_;
    Clock::time_point deadline_;
};

}  // namespace imagebuild
