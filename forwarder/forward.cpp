#include "forwarder/forward.hpp"

#include <sdbus-c++/Error.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/string.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/build_id.hpp"
#include "common/http_message.hpp"
#include "forwarder/app.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/fan_out.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/log.hpp"
#include "forwarder/log_budget.hpp"
#include "forwarder/sse.hpp"

namespace imagebuild::forwarder {

namespace {

using boost::beast::iequals;

void appendPercentEncoded(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
}

// The fields of ours a peer gets: the user's token, if they gave one, and
// what makes a conditional, partial or resumed answer.
constexpr std::array<const char*, 5> kPassedToPeer = {"authorization", "accept", "range",
                                                      "if-none-match", "last-event-id"};

Response unreachable(const std::string& url, const std::string& what) {
    return jsonError(502, "PeerUnreachable", fmt::format("host {} did not answer: {}", url, what));
}

// The fields of a peer's answer worth passing on to our client (its
// Content-Type apart); the rest (Date, Server, Connection, its length and
// framing) are ours to set.
HttpHeaders passedOn(HttpHeaders headers) {
    std::erase_if(headers, [](const auto& field) {
        const auto& name = field.first;
        return !(iequals(name, "etag") || iequals(name, "content-range") ||
                 iequals(name, "accept-ranges") || iequals(name, "www-authenticate") ||
                 iequals(name, "cache-control") || iequals(name, "location"));
    });
    return headers;
}

// What broke while relaying a peer's stream, in the words a client reads.
std::string streamBroke(const HttpError& e, bool head) {
    if (e.step() != HttpStep::Receive) {
        return e.what();
    }
    return fmt::format("reading the peer's response{}: {}", head ? " head" : "", e.detail());
}

// The peer's body, piece by piece; once the peer is lost, the notice, then
// the end. A body of a known length cut short is kStreamBroken: the client
// must see the answer end early, not complete.
BodyStream relayed(std::shared_ptr<HttpStream> stream, const std::string& url,
                   const std::string& contentType) {
    auto notice = std::make_shared<std::string>();
    auto ended = std::make_shared<bool>(false);
    return [stream, url, contentType, notice, ended](char* buffer, std::size_t max) -> long {
        if (!*ended) {
            try {
                auto n = stream->read(buffer, max);
                if (n > 0) {
                    return static_cast<long>(n);
                }
                *ended = true;
            } catch (const HttpError& e) {
                auto what = streamBroke(e, false);
                log::warning("stream from {} broke: {}", url, what);
                *ended = true;
                if (stream->head().contentLength != UINT64_MAX) {
                    return kStreamBroken;  // the length tells: the answer is cut
                }
                *notice = peerLostNotice(url, contentType, what);
            }
        }
        if (notice->empty()) {
            return -1;
        }
        auto n = std::min(max, notice->size());
        std::copy_n(notice->data(), n, buffer);
        notice->erase(0, n);
        return static_cast<long>(n);
    };
}

}  // namespace

bool wasForwarded(const Request& request) {
    return !request.header(kForwardedHeader).empty();
}

Owner findOwner(App& app, const Request& request, const std::string& id) {
    Owner owner;
    auto parsed = BuildId::parse(id);
    if (!parsed) {
        owner.error = jsonError(404, "NotFound", fmt::format("'{}' is not a build id", id));
    } else if (parsed->host == app.hostname() || wasForwarded(request)) {
        // local
    } else if (auto peer = app.peers().byHostname(parsed->host); !peer) {
        owner.error =
            jsonError(404, "NotFound", fmt::format("no host '{}' in this fleet", parsed->host));
    } else if (!peer->healthy) {
        owner.error = jsonError(503, "HostDown",
                                fmt::format("host '{}' ({}) is down", parsed->host, peer->url));
    } else {
        owner.peer = std::move(peer);
    }
    return owner;
}

Response forBuild(App& app, Request& request,
                  const std::function<Response(const std::string& id)>& local) {
    const auto& id = request.params.at("id");
    auto owner = findOwner(app, request, id);
    if (owner.error) {
        return *owner.error;
    }
    if (owner.peer) {
        return forwardTo(app, owner.peer->url, request);
    }
    try {
        return local(id);
    } catch (const sdbus::Error& e) {
        return responseForDbusError(e);
    }
}

void appendTarget(std::string& out, const Request& request) {
    appendPercentEncoded(out, request.path);
    char separator = '?';
    for (const auto& [key, value] : request.query) {
        out += separator;
        appendPercentEncoded(out, key);
        out += '=';
        appendPercentEncoded(out, value);
        separator = '&';
    }
}

std::string targetOf(const Request& request) {
    std::string target;
    appendTarget(target, request);
    return target;
}

HttpRequest peerRequestFor(const Request& request) {
    HttpRequest out;
    out.method = request.method;
    out.target = targetOf(request);
    out.body = request.body;
    out.contentType = request.header("content-type");
    out.headers.emplace_back(kForwardedHeader, "1");
    // The user's own token, if they gave one, replaces the fleet token: the
    // owning host checks who it is itself (auth.hpp). Without one the
    // request goes with the fleet token, which only reads.
    for (const char* name : kPassedToPeer) {
        if (auto value = request.header(name); !value.empty()) {
            out.headers.emplace_back(name, value);
        }
    }
    return out;
}

std::string relayRequestBytes(const Request& request, const HttpUrl& url,
                              const HttpClientOptions& options) {
    const auto& userToken = request.header("authorization");
    std::string out;
    out.reserve(256 + request.path.size());
    out.append(request.method).append(" ");
    appendTarget(out, request);
    out.append(" HTTP/1.1\r\nHost: ");
    url.appendHostHeader(out);
    out.append("\r\nUser-Agent: ").append(options.userAgent).append("\r\n");
    if (!options.bearerToken.empty() && userToken.empty()) {
        out.append("Authorization: Bearer ").append(options.bearerToken).append("\r\n");
    }
    out.append(kForwardedHeader).append(": 1\r\n");
    for (const char* name : kPassedToPeer) {
        if (const auto& value = request.header(name); !value.empty()) {
            out.append(name).append(": ").append(value).append("\r\n");
        }
    }
    out += "\r\n";
    return out;
}

Response forwardTo(App& app, const std::string& url, const Request& request) {
    try {
        auto answer = app.peers().client(url).request(peerRequestFor(request),
                                                      app.peers().options().requestTimeout);
        return peerAnswer(app, url, request, &answer, nullptr);
    } catch (const HttpError& e) {
        return peerAnswer(app, url, request, nullptr, &e);
    }
}

std::vector<bool> exchangeWithPeers(App& app, const std::vector<PeerState>& peers,
                                    const HttpRequest& request, std::chrono::milliseconds timeout,
                                    const ExchangeDone& done) {
    std::vector<bool> asked(peers.size(), false);
    std::vector<HttpLoopRequest> asks;
    std::vector<std::size_t> peerOf;  // the peer of each ask
    for (std::size_t i = 0; i < peers.size(); ++i) {
        if (peers[i].healthy && peers[i].port != 0) {
            asks.push_back(loopRequestTo(app, peers[i], request, true));
            asks.back().timeout = timeout;
            peerOf.push_back(i);
            asked[i] = true;
        }
    }
    app.exchanges().exchangeAll(std::move(asks),
                                [&](std::size_t k, HttpResponse* response, const HttpError* error) {
                                    done(peerOf[k], response, error);
                                });
    return asked;
}

std::vector<std::optional<Response>> forwardToEach(App& app, const std::vector<PeerState>& peers,
                                                   const Request& request) {
    std::vector<std::optional<Response>> answers(peers.size());
    auto asked =
        exchangeWithPeers(app, peers, peerRequestFor(request), app.peers().options().requestTimeout,
                          [&](std::size_t i, HttpResponse* response, const HttpError* error) {
                              answers[i] = peerAnswer(app, peers[i].url, request, response, error);
                          });
    for (std::size_t i = 0; i < peers.size(); ++i) {
        if (peers[i].healthy && !asked[i]) {  // no address from a probe yet: hardly ever
            // Not marked down: it was not asked.
            answers[i] = unreachable(peers[i].url, "its address is not known yet");
        }
    }
    return answers;
}

Response peerAnswer(App& app, const std::string& url, const Request& request, HttpResponse* answer,
                    const HttpError* error) {
    // Our own connections to it all in use (a cap of ours): nothing went to
    // the peer, so nothing is learnt of it; it is not marked down.
    if (answer || !error->busy()) {
        app.peers().recordForward(url, answer != nullptr);
    }
    if (!answer) {
        if (auto more = app.failureLog().take()) {
            log::warning("forwarding {} {} to {}: {}{}", request.method, request.path, url,
                         error->what(), *more);
        }
        return unreachable(url, error->what());
    }
    Response response;
    response.status = answer->status;
    response.contentType = std::move(answer->contentType);
    response.body = std::move(answer->body);
    response.headers = passedOn(std::move(answer->headers));
    response.fromPeer = true;
    return response;
}

HttpLoopRequest loopRequestTo(App& app, const PeerState& peer, const HttpRequest& request,
                              bool keepAlive) {
    const auto& client = app.peers().client(peer.url);
    return loopRequestTo(app, peer,
                         httpRequestBytes(request, client.url(), client.options(), keepAlive));
}

HttpLoopRequest loopRequestTo(App& app, const PeerState& peer, std::string bytes) {
    HttpLoopRequest out;
    boost::asio::ip::tcp::endpoint endpoint(peer.address, peer.port);
    std::memcpy(&out.address, endpoint.data(), endpoint.size());
    out.length = static_cast<socklen_t>(endpoint.size());
    out.bytes = std::move(bytes);
    out.timeout = app.peers().options().requestTimeout;
    return out;
}

OnLoop relayOnLoop(App& app, std::shared_ptr<const Request> request, const std::string& id,
                   const AskAgentAbout& askAgent) {
    if (!app.peers().settled()) {
        return {};
    }
    auto owner = findOwner(app, *request, id);
    if (owner.error) {
        return {std::move(owner.error), std::nullopt};
    }
    if (owner.local() && askAgent) {
        LoopRelay relay;
        relay.ask = [askAgent, id](AgentOnLoop& agent, std::function<void(Response &&)> done) {
            askAgent(agent, id, std::move(done));
        };
        return {std::nullopt, std::move(relay)};
    }
    if (!owner.peer || owner.peer->port == 0 || !request->body.empty()) {
        return {};
    }
    const auto& client = app.peers().client(owner.peer->url);
    LoopRelay relay;
    relay.request = loopRequestTo(app, *owner.peer,
                                  relayRequestBytes(*request, client.url(), client.options()));
    relay.request.headOnly = request->method == "HEAD";
    relay.finish = [&app, url = std::move(owner.peer->url), request = std::move(request)](
                       HttpResponse* answer, const HttpError* error) {
        return peerAnswer(app, url, *request, answer, error);
    };
    return {std::nullopt, std::move(relay)};
}

Response forwardStreamTo(App& app, const std::string& url, const Request& request,
                         std::chrono::milliseconds idleTimeout) {
    try {
        std::shared_ptr<HttpStream> stream = app.peers().client(url).stream(
            peerRequestFor(request), app.peers().options().requestTimeout, idleTimeout);
        app.peers().recordForward(url, true);
        Response response;
        response.status = stream->head().status;
        response.contentType = stream->head().contentType;
        response.headers = passedOn(stream->head().headers);
        response.streamSize = stream->head().contentLength;
        response.fromPeer = true;
        response.stream = relayed(stream, url, response.contentType);
        return response;
    } catch (const HttpError& e) {
        app.peers().recordForward(url, false);
        return unreachable(url, streamBroke(e, true));
    }
}

}  // namespace imagebuild::forwarder
