#include "forwarder/peer_prober.hpp"

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <string_view>
#include <thread>

#include "forwarder/config.hpp"

namespace imagebuild::forwarder {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// A health answer is a small JSON object; anything longer is not one.
constexpr std::uint64_t kBodyLimit = 64 * 1024;

struct Target {
    std::string url;
    std::string host;
    std::string port;
    std::string hostHeader;  // HOST[:PORT] as written in the URL
};

Target parseTarget(const std::string& url) {
    Target t{url, "", "80",
             std::string(std::string_view(url).substr(std::string("http://").size()))};
    if (t.hostHeader.find(':') == std::string::npos) {
        t.host = t.hostHeader;
    } else {
        auto [host, port] = splitHostPort(t.hostHeader);
        t.host = host;
        t.port = std::to_string(port);
    }
    return t;
}

// One GET /v1/health of one peer: resolve, connect, write, read, each step
// started by the one before; a timer over the whole closes whatever is in
// flight when the deadline passes. Kept alive by the handlers' shared_ptr.
class Probe : public std::enable_shared_from_this<Probe> {
public:
    using Done = std::function<void(const std::string& url, const ProbeResult&)>;

    Probe(asio::io_context& io, const Target& target, const PeerProber::Options& options, Done done)
        : target_(target),
          timeout_(options.timeout),
          resolver_(io),
          socket_(io),
          deadline_(io),
          done_(std::move(done)) {
        request_.method(http::verb::get);
        request_.target("/v1/health");
        request_.version(11);
        request_.set(http::field::host, target_.hostHeader);
        request_.set(http::field::user_agent, "imagebuild-forwarder");
        request_.keep_alive(false);
        if (!options.fleetToken.empty()) {
            request_.set(http::field::authorization, "Bearer " + options.fleetToken);
        }
        parser_.body_limit(kBodyLimit);
    }

    void start() {
        deadline_.expires_after(timeout_);
        deadline_.async_wait(std::bind_front(&Probe::onDeadline, shared_from_this()));
        resolver_.async_resolve(target_.host, target_.port,
                                std::bind_front(&Probe::onResolved, shared_from_this()));
    }

private:
    void onDeadline(error_code ec) {
        if (ec || finished_) {
            return;  // cancelled: the probe ended first
        }
        timedOut_ = true;
        resolver_.cancel();
        error_code ignored;
        socket_.close(ignored);
    }

    void onResolved(error_code ec, const tcp::resolver::results_type& endpoints) {
        if (ec || timedOut_) {
            return fail("resolve", ec);  // a name lookup cannot be cancelled once it runs
        }
        asio::async_connect(socket_, endpoints,
                            std::bind_front(&Probe::onConnected, shared_from_this()));
    }

    void onConnected(error_code ec, const tcp::endpoint&) {
        if (ec) {
            return fail("connect", ec);
        }
        http::async_write(socket_, request_,
                          std::bind_front(&Probe::onWritten, shared_from_this()));
    }

    void onWritten(error_code ec, std::size_t) {
        if (ec) {
            return fail("send", ec);
        }
        http::async_read(socket_, buffer_, parser_,
                         std::bind_front(&Probe::onRead, shared_from_this()));
    }

    void onRead(error_code ec, std::size_t) {
        if (ec) {
            return fail("receive", ec);
        }
        const auto& response = parser_.get();
        if (response.result_int() == 429) {
            // Too many connections or requests from this host (relayed
            // follows hold one each): the peer is there and answering.
            return finish({true, true, "",
                           fmt::format("busy: GET /v1/health answered 429 {}",
                                       std::string(response.reason()))});
        }
        auto body = nlohmann::json::parse(response.body(), nullptr, false);
        if (response.result_int() != 200 || !body.is_object()) {
            return finish({false, false, "",
                           fmt::format("GET /v1/health answered {} {}", response.result_int(),
                                       std::string(response.reason()))});
        }
        auto hostname = body.value("hostname", std::string());
        finish({true, false, hostname, ""});
    }

    void fail(const char* step, error_code ec) {
        if (timedOut_) {
            return finish(
                {false, false, "", fmt::format("no answer within {} ms", timeout_.count())});
        }
        finish({false, false, "", fmt::format("{}: {}", step, ec.message())});
    }

    void finish(const ProbeResult& result) {
        finished_ = true;
        deadline_.cancel();
        error_code ignored;
        socket_.close(ignored);
        done_(target_.url, result);
    }

    Target target_;
    std::chrono::milliseconds timeout_;
    tcp::resolver resolver_;
    tcp::socket socket_;
    asio::steady_timer deadline_;
    beast::flat_buffer buffer_;
    http::request<http::empty_body> request_;
    http::response_parser<http::string_body> parser_;
    Done done_;
    bool timedOut_ = false;
    bool finished_ = false;
};

}  // namespace

// The io_context and its thread, and the round in progress. Everything but
// the constructor and destructor runs on the thread.
struct PeerProber::Loop {
    Loop(std::vector<std::string> urls, Options o, OnResult r, OnRound d)
        : options(std::move(o)), onResult(std::move(r)), onRound(std::move(d)) {
        for (const auto& url : urls) {
            targets.push_back(parseTarget(url));
        }
    }

    void startRound() {
        pending = targets.size();
        if (pending == 0) {
            return roundEnded();
        }
        for (const auto& target : targets) {
            std::make_shared<Probe>(io, target, options, std::bind_front(&Loop::probeEnded, this))
                ->start();
        }
    }

    void probeEnded(const std::string& url, const ProbeResult& result) {
        onResult(url, result);
        if (--pending == 0) {
            roundEnded();
        }
    }

    void roundEnded() {
        onRound();
        if (targets.empty()) {
            return;  // nothing to ask again
        }
        next.expires_after(options.interval);
        next.async_wait([this](error_code ec) {
            if (!ec) {
                startRound();
            }
        });
    }

    Options options;
    OnResult onResult;
    OnRound onRound;
    std::vector<Target> targets;
    std::size_t pending = 0;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    asio::steady_timer next{io};
    std::jthread thread;
};

PeerProber::PeerProber(std::vector<std::string> urls, Options options, OnResult onResult,
                       OnRound onRound)
    : loop_(std::make_unique<Loop>(std::move(urls), std::move(options), std::move(onResult),
                                   std::move(onRound))) {
    asio::post(loop_->io, [loop = loop_.get()] { loop->startRound(); });
    loop_->thread = std::jthread([loop = loop_.get()] { loop->io.run(); });
}

PeerProber::~PeerProber() {
    loop_->io.stop();
    loop_->thread.join();
}

}  // namespace imagebuild::forwarder
