// `imagebuildctl -H URL`: the forwarder's HTTP API (/v1/builds, /v1/hosts,
// /monitor, /artifacts) with Boost.Beast's synchronous client. The whole
// HTTP client is this file. Plain http only (no TLS in this version).
#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/build_json.hpp"
#include "common/http_url.hpp"
#include "ctl/atomic_file.hpp"
#include "ctl/backend.hpp"
#include "ctl/ctl_error.hpp"
#include "ctl/error_map.hpp"
#include "ctl/side_repo_options.hpp"
#include "imagebuild_config.h"

namespace imagebuild::ctl {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr auto kWaitPoll = std::chrono::seconds(2);

struct Endpoint {
    std::string host;  // without the brackets of an IPv6 literal
    std::string port;
    std::string base;  // path prefix, no trailing '/'
};

// -H takes what common/http_url.hpp parses, plus a bare HOST[:PORT] (read
// as http://HOST[:PORT]); https gets its own sentence.
Endpoint parseUrl(const std::string& url) {
    if (url.rfind("https://", 0) == 0) {
        throw CtlError(kExitUsage,
                       fmt::format("-H {}: https is not supported by this imagebuildctl; "
                                   "use http:// (or a local TLS tunnel)",
                                   url));
    }
    std::string why;
    auto parsed = parseHttpUrl(url.find("://") == std::string::npos ? "http://" + url : url, &why);
    if (!parsed) {
        throw CtlError(kExitUsage, fmt::format("-H {}: {}", url, why));
    }
    Endpoint e{std::move(parsed->host), std::move(parsed->port), std::move(parsed->target)};
    while (!e.base.empty() && e.base.back() == '/') {
        e.base.pop_back();
    }
    return e;
}

std::string percentEncode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

class HttpBackend final : public Backend {
public:
    HttpBackend(std::string url, std::string token)
        : url_(std::move(url)), endpoint_(parseUrl(url_)), token_(std::move(token)) {}

    BuildInfo submit(const BuildSpec& spec) override {
        if (!spec.rpms.empty()) {  // the files go as parts of a form
            auto form = submitFormOf(spec);
            return json(http::verb::post, "/v1/builds", form.body, form.contentType)
                .get<BuildInfo>();
        }
        return json(http::verb::post, "/v1/builds", specToJson(spec).dump()).get<BuildInfo>();
    }

    ListResult list(const std::vector<std::string>& states) override {
        auto body = json(http::verb::get, "/v1/builds", "");
        ListResult result;
        for (auto& b :
             body.value("builds", nlohmann::json::array()).get<std::vector<BuildInfo>>()) {
            if (states.empty() ||
                std::find(states.begin(), states.end(), b.state) != states.end()) {
                result.builds.push_back(std::move(b));
            }
        }
        result.unreachable = body.value("unreachable", std::vector<std::string>{});
        return result;
    }

    BuildInfo get(const std::string& id) override {
        return json(http::verb::get, "/v1/builds/" + percentEncode(id), "").get<BuildInfo>();
    }

    void cancel(const std::string& id) override {
        exchange(http::verb::delete_, "/v1/builds/" + percentEncode(id), "");
    }

    BuildInfo retry(const std::string& id) override {
        return json(http::verb::post, "/v1/builds/" + percentEncode(id) + "/retry", "")
            .get<BuildInfo>();
    }

    void setPinned(const std::string& id, bool pinned) override {
        throw CtlError(kExitUsage,
                       fmt::format("{} is not supported over -H (the HTTP API has no pin); run "
                                   "imagebuildctl {} {} on the build's host",
                                   pinned ? "pin" : "unpin", pinned ? "pin" : "unpin", id));
    }

    std::vector<HostInfo> hosts() override {
        std::vector<HostInfo> hosts;
        for (const auto& h :
             json(http::verb::get, "/v1/hosts", "").value("hosts", nlohmann::json::array())) {
            hosts.push_back(h.get<HostInfo>());
        }
        return hosts;
    }

    // The API has no push for a build's end: ask every few seconds.
    BuildInfo waitFinished(const std::string& id) override {
        auto info = get(id);
        while (!info.finished()) {
            std::this_thread::sleep_for(kWaitPoll);
            info = get(id);
        }
        return info;
    }

    void download(const BuildInfo& build, const Artifact& artifact,
                  const std::string& destination) override {
        auto target = "/artifacts/" + percentEncode(build.id) + "/" + percentEncode(artifact.name);
        writeFileAtomically(destination, [&](const auto& write) { stream(target, false, write); });
    }

    bool servesLog() const override { return true; }

    void streamLog(const std::string& id, bool follow,
                   const std::function<void(std::string_view)>& sink) override {
        stream("/monitor/" + percentEncode(id) + (follow ? "?follow=1" : ""), follow, sink);
    }

private:
    template <typename Body>
    void prepare(http::request<Body>& req) const {
        req.set(http::field::host, endpoint_.host);
        req.set(http::field::user_agent, std::string("imagebuildctl/") + IMAGEBUILD_VERSION);
        if (!token_.empty()) {
            req.set(http::field::authorization, "Bearer " + token_);
        }
    }

    void connect(beast::tcp_stream& stream) const {
        tcp::resolver resolver(stream.get_executor());
        stream.connect(resolver.resolve(endpoint_.host, endpoint_.port));
    }

    [[noreturn]] void unreachable(const std::exception& e) const {
        throw CtlError(kExitUnreachable,
                       fmt::format("Cannot reach the forwarder at {}: {}", url_, e.what()));
    }

    [[noreturn]] void failed(unsigned status, const std::string& body) const {
        std::string name;
        std::string message;
        auto parsed = nlohmann::json::parse(body, nullptr, false);
        if (parsed.is_object()) {
            name = parsed.value("error", "");
            message = parsed.value("message", "");
        } else {
            message = body.substr(0, 200);
        }
        auto mapped = mapHttpError(static_cast<int>(status), name, message, url_);
        throw CtlError(mapped.exitCode, mapped.message);
    }

    std::string exchange(http::verb verb, const std::string& target, const std::string& body,
                         const std::string& contentType = "application/json") {
        http::response<http::string_body> res;
        try {
            asio::io_context io;
            beast::tcp_stream stream(io);
            stream.expires_after(kRequestTimeout);
            connect(stream);
            http::request<http::string_body> req{verb, endpoint_.base + target, 11};
            prepare(req);
            if (!body.empty()) {
                req.set(http::field::content_type, contentType);
                req.body() = body;
            }
            req.prepare_payload();
            http::write(stream, req);
            beast::flat_buffer buffer;
            http::read(stream, buffer, res);
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        } catch (const boost::system::system_error& e) {
            unreachable(e);
        }
        if (res.result_int() >= 300) {
            failed(res.result_int(), res.body());
        }
        return res.body();
    }

    nlohmann::json json(http::verb verb, const std::string& target, const std::string& body,
                        const std::string& contentType = "application/json") {
        auto text = exchange(verb, target, body, contentType);
        try {
            return nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw CtlError(
                kExitFailure,
                fmt::format("The forwarder at {} sent an answer to {} that is not JSON: {}", url_,
                            target, e.what()));
        }
    }

    // For bodies that may be long or endless (a followed log, an ISO): hand
    // each piece to sink as it arrives.
    void stream(const std::string& target, bool endless,
                const std::function<void(std::string_view)>& sink) {
        try {
            asio::io_context io;
            beast::tcp_stream stream(io);
            stream.expires_after(kRequestTimeout);
            connect(stream);
            http::request<http::empty_body> req{http::verb::get, endpoint_.base + target, 11};
            prepare(req);
            req.set(http::field::accept, "text/plain");
            http::write(stream, req);
            beast::flat_buffer buffer;
            http::response_parser<http::buffer_body> parser;
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            http::read_header(stream, buffer, parser);
            if (endless) {
                stream.expires_never();
            }
            std::string errorBody;
            bool ok = parser.get().result_int() < 300;
            char chunk[16384];
            while (!parser.is_done()) {
                parser.get().body().data = chunk;
                parser.get().body().size = sizeof chunk;
                beast::error_code ec;
                http::read(stream, buffer, parser, ec);
                if (ec && ec != http::error::need_buffer) {
                    throw boost::system::system_error(ec);
                }
                std::string_view piece(chunk, sizeof chunk - parser.get().body().size);
                if (ok) {
                    sink(piece);
                } else {
                    errorBody.append(piece);
                }
                if (!endless) {
                    stream.expires_after(kRequestTimeout);
                }
            }
            if (!ok) {
                failed(parser.get().result_int(), errorBody);
            }
        } catch (const boost::system::system_error& e) {
            unreachable(e);
        }
    }

    std::string url_;
    Endpoint endpoint_;
    std::string token_;
};

}  // namespace

std::unique_ptr<Backend> makeHttpBackend(const std::string& url, const std::string& token) {
    return std::make_unique<HttpBackend>(url, token);
}

}  // namespace imagebuild::ctl
