// The forwarder's view of one HTTP exchange, independent of libmicrohttpd so
// that every handler can be called directly from a unit test.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/unique_fd.hpp"
#include "forwarder/tokens.hpp"

namespace imagebuild::forwarder {

class StreamParking;

// One part of a multipart/form-data body, in arrival order (a name may repeat).
struct FormField {
    std::string name;
    std::string filename;  // the part's filename="...", for a file; else empty
    std::string value;     // the raw bytes
};

// A header name as Request::headers keys it: lower case (header names are
// ASCII: no locale).
std::string headerKey(std::string_view name);

struct Response;

// The stream loop's answer to a request, given later from any thread, so
// that no worker waits for it (a peer's first answer to a follow). A
// handler that uses it returns a Response with `later` set and has give()
// called exactly once; until then the connection stays parked.
class LaterAnswer {
public:
    virtual ~LaterAnswer() = default;
    virtual void give(Response response) = 0;
};

struct Request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> query;
    // Keys lower-case; found by a string_view, without a key made for each look.
    std::map<std::string, std::string, std::less<>> headers;
    std::string body;                           // empty for multipart/form-data: see `form`
    std::vector<FormField> form;                // a multipart/form-data body, parsed by the server
    std::map<std::string, std::string> params;  // filled by the router
    std::string identity;                       // token name; empty if anonymous
    TokenRole role = TokenRole::Read;           // the token's role; Read if anonymous
    int connectionFd = -1;                      // the client's socket, to notice a follower leaving
    // Set on both loops: a follower's stream parks with it instead of
    // blocking (stream_parking.hpp), and says so (Response::parks).
    std::shared_ptr<StreamParking> parking;
    // Set with `parking`: where an answer given later goes (LaterAnswer).
    std::shared_ptr<LaterAnswer> answerLater;

    // The header's value, or "" if absent. `name` is matched case-insensitively.
    const std::string& header(std::string_view name) const;
    std::string queryValue(const std::string& key) const;
};

// A streaming body: fills `buffer` with at most `max` bytes and returns how many,
// or kStreamEnd at the end of the stream. It may block (a loop reads it
// ahead on a worker: stream_pump.hpp), unless it was made with the
// request's `parking` and the response says `parks`: then it returns 0
// after parking. kStreamBroken: it cannot go on, and the answer is cut short.
using BodyStream = std::function<long(char* buffer, std::size_t max)>;
inline constexpr long kStreamEnd = -1;
inline constexpr long kStreamBroken = -2;

struct FileBody {
    std::shared_ptr<UniqueFd> fd;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

struct Response {
    unsigned status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    BodyStream stream;                      // set: the body is streamed, `body` is ignored
    std::uint64_t streamSize = UINT64_MAX;  // the stream's length if known (Content-Length)
    std::shared_ptr<FileBody> file;         // set: the body is a file range
    bool fromPeer = false;  // a peer's answer passed on as it came: the peer logged it
    bool later = false;     // no answer yet: Request::answerLater will be given it
    // The stream parks (made with Request::parking) instead of blocking; a
    // loop reads any other stream ahead on a worker (stream_pump.hpp).
    bool parks = false;
};

// What a request's handler may wait on, shared with others and capped (the
// local agent's bus connections, one peer's connections, the fleet's
// fan-out engines): the request loop runs at most `cap` handlers of one
// group at once (wait_groups.hpp).
struct WaitGroup {
    std::string name;  // empty: none; the worker pool alone bounds it
    unsigned cap = 0;  // 0: none either
};

// What the server learns at a request's head, before reading its body.
struct Admission {
    std::optional<Response> refusal;  // set: answered now, the connection closed
    std::size_t maxBodyBytes = 0;     // the route's body limit
    bool form = false;                // a multipart/form-data body is parsed into Request::form
    WaitGroup waitsOn;
};

}  // namespace imagebuild::forwarder
