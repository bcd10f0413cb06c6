// Passing a request on to the peer that owns it, and finding that peer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http_client.hpp"
#include "common/http_loop_client.hpp"
#include "forwarder/fan_out.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/loop_answer.hpp"
#include "forwarder/peers.hpp"
#include "forwarder/router.hpp"

namespace imagebuild::forwarder {

class App;

// Marks a request one forwarder sent another: the receiver serves it locally
// and never forwards it again (no loops, whatever the configs say).
inline constexpr const char* kForwardedHeader = "X-Imagebuild-Forwarded";

bool wasForwarded(const Request& request);

// Where the build with this id lives: here (nullopt, no error), a healthy peer,
// or an error response (bad id 404, unknown host 404, host down 503).
struct Owner {
    std::optional<PeerState> peer;
    std::optional<Response> error;
    bool local() const { return !peer && !error; }
};
Owner findOwner(App& app, const Request& request, const std::string& id);

// A request about one build (/v1/builds/{id}...): passed on to the host the id
// names, else `local(id)` answers it here, agent (D-Bus) errors mapped.
Response forBuild(App& app, Request& request,
                  const std::function<Response(const std::string& id)>& local);

// The path plus the query, percent-encoded again.
std::string targetOf(const Request& request);
HttpRequest peerRequestFor(const Request& request);
// The bytes httpRequestBytes(peerRequestFor(request), url, options, true)
// makes for a request without a body, written straight into one string:
// the gate's loop relays many a second, and the fields copied into an
// HttpRequest and sorted again cost more than the rest of the relay.
std::string relayRequestBytes(const Request& request, const HttpUrl& url,
                              const HttpClientOptions& options);

// The peer's answer as ours; 502 (and the peer marked down) if it did not answer.
Response forwardTo(App& app, const std::string& url, const Request& request);
// `request` to each healthy peer whose address a probe told, all at once
// on this thread without a thread per peer (fan_out.hpp), each within
// `timeout`; done(i, ...) with i its index in `peers`. Which were asked.
std::vector<bool> exchangeWithPeers(App& app, const std::vector<PeerState>& peers,
                                    const HttpRequest& request, std::chrono::milliseconds timeout,
                                    const ExchangeDone& done);
// forwardTo of each healthy peer that way, in the peers' order; none for a
// peer that is not healthy; a healthy one whose address no probe has told
// yet is unreachable (not asked, so not marked down), as in /v1/hosts.
std::vector<std::optional<Response>> forwardToEach(App& app, const std::vector<PeerState>& peers,
                                                   const Request& request);
// What forwardTo makes of the peer's answer (its body and fields moved
// out), or of its failure.
Response peerAnswer(App& app, const std::string& url, const Request& request, HttpResponse* answer,
                    const HttpError* error);

// `request` as HttpClient would send it to `peer`, to the address the peer
// answered its last probe from (peer.port != 0), with the peers' timeout.
HttpLoopRequest loopRequestTo(App& app, const PeerState& peer, const HttpRequest& request,
                              bool keepAlive);
// The same with the request's bytes made already.
HttpLoopRequest loopRequestTo(App& app, const PeerState& peer, std::string bytes);

// The request about build `id` on the gate's loop (no thread): passed on
// with the same bytes forwardTo would send, to the address the owner
// answered its last probe from; or, if the owner is down or unknown or the
// id is none, that error answered at once (as forBuild would); or, when the
// build is this host's (or the request came from a peer) and the route
// gives `askAgent`, asked of the agent on the loop's bus connection.
// Neither when it is not for a loop: a build of this host without
// `askAgent` (a thread asks the agent), the fleet's first probe has not
// ended (finding the owner would wait for it), or nothing is known of
// where the owner answers.
OnLoop relayOnLoop(App& app, std::shared_ptr<const Request> request, const std::string& id,
                   const AskAgentAbout& askAgent = {});
// Same, streaming the body through (monitor follow, artifacts); a read may
// wait `idleTimeout` for the next piece (a followed build can be silent long).
Response forwardStreamTo(App& app, const std::string& url, const Request& request,
                         std::chrono::milliseconds idleTimeout);

}  // namespace imagebuild::forwarder
