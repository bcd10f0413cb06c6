#include "forwarder/http_server.hpp"

#include <microhttpd.h>
#include <sys/socket.h>

#include <strings.h>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "forwarder/hand_back.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/log.hpp"
#include "forwarder/loop_answer.hpp"
#include "forwarder/stream_choice.hpp"
#include "forwarder/stream_parking.hpp"
#include "forwarder/stream_pump.hpp"
#include "forwarder/thread_nice.hpp"
#include "forwarder/upload_form.hpp"

namespace imagebuild::forwarder {

struct HttpServer::Tracked {
    std::string address;
    int fd = -1;
    // The bytes the connection's requests took so far, heads and
    // Content-Length bodies (the only bodies admitted): while libmicrohttpd
    // has read exactly these, it holds nothing of the next request and that
    // request's head can be checked first (hand_back.hpp).
    std::uint64_t taken = 0;
    // Ended beneath libmicrohttpd: whatever it still parses from its own
    // buffer is never served.
    bool ended = false;
};

// A request of either loop parks its connection with libmicrohttpd's
// suspend: from the access handler (while its handler runs on the worker)
// or from the content reader (its stream has nothing to send). Resumed from
// any thread, only if suspended (resuming a connection that is not is
// undefined), never again once the server stops (libmicrohttpd must not be
// stopped with a suspended connection).
class HttpServer::LoopParking : public StreamParking {
public:
    // `loop`: the request loop's, which must be woken to serve a resumed
    // connection (request_loop.hpp); the stream loop wakes by itself.
    explicit LoopParking(MHD_Connection* connection, RequestLoop* loop = nullptr)
        : connection_(connection), loop_(loop) {}

    void park() override {
        std::lock_guard lock(mutex_);
        if (connection_ && !stopping_ && !suspended_) {
            MHD_suspend_connection(connection_);
            suspended_ = true;
        }
    }
    void unpark() override {
        std::lock_guard lock(mutex_);
        if (suspended_) {
            suspended_ = false;
            if (loop_) {
                loop_->resume(connection_);
            } else {
                MHD_resume_connection(connection_);
            }
        }
    }
    // The server stops: resumed now, never parked again.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        unpark();
    }
    bool stopping() {
        std::lock_guard lock(mutex_);
        return stopping_;
    }
    // The request ended (libmicrohttpd's thread): whoever still holds this
    // (a build's waiting followers) unparks nothing.
    void detach() {
        std::lock_guard lock(mutex_);
        connection_ = nullptr;
        suspended_ = false;
    }

private:
    std::mutex mutex_;
    MHD_Connection* connection_;
    RequestLoop* loop_;
    bool suspended_ = false;
    bool stopping_ = false;
};

// The answer of a loop's request, from its handler on the worker or
// later from any thread (LaterAnswer): kept until the connection, resumed,
// takes it. The connection is resumed only once both are in: the answer,
// and the worker's word that the handler has returned (an answer given
// from inside the handler must not let the loop end the request, and free
// it, while the handler still reads it). Shared, so that an answer given
// after the connection has ended (a client that left while a peer was
// asked) goes nowhere, harmlessly.
class HttpServer::LoopAnswer : public LaterAnswer {
public:
    explicit LoopAnswer(std::shared_ptr<LoopParking> parking) : parking_(std::move(parking)) {}

    void give(Response response) override {
        {
            std::lock_guard lock(mutex_);
            answer_ = std::move(response);
            if (!returned_) {
                return;  // the worker resumes it when the handler returns
            }
        }
        parking_->unpark();
    }
    // The worker: the handler returned, with its answer or none yet.
    void returned(std::optional<Response> response) {
        {
            std::lock_guard lock(mutex_);
            if (response) {
                answer_ = std::move(response);
            }
            returned_ = true;
            if (!answer_) {
                return;  // given later
            }
        }
        parking_->unpark();
    }
    // The loop: the answer, once the handler has returned.
    std::optional<Response> take() {
        std::lock_guard lock(mutex_);
        if (!returned_) {
            return std::nullopt;
        }
        return std::exchange(answer_, std::nullopt);
    }

private:
    std::shared_ptr<LoopParking> parking_;
    std::mutex mutex_;
    std::optional<Response> answer_;
    bool returned_ = false;
};

struct HttpServer::Context {
    Request request;  // admitted at the head; the body is added as it comes
    std::vector<FormField> form;
    MHD_PostProcessor* post = nullptr;  // set for a multipart/form-data body
    std::size_t limit = 0;
    bool badForm = false;
    bool keepAlive = false;  // libmicrohttpd keeps the connection after the answer
    WaitGroup waitsOn;       // the request loop's: what its handler may wait on
    // A loop's: its parking, and where its answer comes.
    std::shared_ptr<LoopParking> parking;
    std::shared_ptr<LoopAnswer> answer;
    bool dispatched = false;

    Context() = default;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() {
        if (post) {
            MHD_destroy_post_processor(post);
        }
    }
};

namespace {

// More parts than any form of ours has (labels and notify repeat): a body of
// a million tiny parts is refused instead of costing a million FormFields.
constexpr std::size_t kMaxFormFields = 256;

// A part's bytes arrive in pieces (off > 0 continues the current one); a new
// part of the same name starts again at off 0. A part libmicrohttpd announces
// empty first and then fills stays one field.
MHD_Result formPiece(void* cls, MHD_ValueKind, const char* key, const char* filename, const char*,
                     const char*, const char* data, uint64_t off, size_t size) {
    auto& form = *static_cast<std::vector<FormField>*>(cls);
    bool continues =
        !form.empty() && form.back().name == key && (off != 0 || form.back().value.empty());
    if (!continues) {
        if (form.size() >= kMaxFormFields) {
            return MHD_NO;
        }
        form.push_back(FormField{key, filename ? filename : "", {}});
    }
    form.back().value.append(data, size);
    return MHD_YES;
}

MHD_Result collect(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto* map = static_cast<decltype(Request::headers)*>(cls);
    map->insert_or_assign(headerKey(key), value ? value : "");
    return MHD_YES;
}

MHD_Result collectQuery(void* cls, MHD_ValueKind, const char* key, const char* value) {
    (*static_cast<std::map<std::string, std::string>*>(cls))[key] = value ? value : "";
    return MHD_YES;
}

ssize_t readerResult(long n) {
    if (n == kStreamBroken) {
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

// A stream of a loop: 0 means it parked its connection; when the server
// stops it cannot park, and the connection ends.
struct LoopBody {
    BodyStream stream;
    std::shared_ptr<HttpServer::LoopParking> parking;
};

ssize_t readOnLoop(void* cls, uint64_t, char* buffer, size_t max) {
    auto& body = *static_cast<LoopBody*>(cls);
    long n = body.stream(buffer, max);
    if (n == 0 && (!body.parking || body.parking->stopping())) {
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return readerResult(n);
}

void freeLoopBody(void* cls) {
    delete static_cast<LoopBody*>(cls);
}

// The stream loop's buffers, per connection: ten thousand followers are
// held at once, and each touches all of its buffers in the end. The pool
// holds the head (at most kStreamLoopMaxHeadBytes and
// kStreamLoopMaxHeaderFields: stream_choice.hpp), libmicrohttpd's record of
// each field and the answer's head; a chunked body (HTTP/1.1) is made in the
// pool's free part, a body without chunks (HTTP/1.0) in the response's block.
constexpr std::size_t kLoopPoolBytes = 3 * 1024;
constexpr std::size_t kLoopBlockBytes = 2048;
// The block of a request loop's stream read ahead (a download relayed, a log
// read): what libmicrohttpd takes from the pump's buffer and sends at once,
// a quarter of that buffer. Used for an answer of known length; a chunked
// one (HTTP/1.1, unknown length) is framed in the connection's memory pool.
constexpr std::size_t kPumpedBlockBytes = 32 * 1024;

// Threads running the stream loop's handlers. The first follower of a
// peer's build waits there for the owner's head (up to peer_timeout_sec):
// with four, an owner slow to answer delays the start of other followers
// only when four such waits are on at once.
constexpr unsigned kStreamHandlers = 4;

// How long a request loop's handler thread waits idle for the next request
// before it ends (ServerLimits::requestHandlers).
constexpr std::chrono::seconds kRequestHandlerKeepIdle{10};

// How long the request loop waits for an answered kept-alive connection's
// next head before it gives the connection back to the gate
// (request_loop.hpp, hand_back.hpp). A client that asks again within it (a
// page's parts, a peer's fan-out, a load generator) stays on the loop:
// given back at once, /metrics over 32 kept-alive connections fell to 0.64x
// (bench/forwarder-ab). Meanwhile the connection holds libmicrohttpd's
// memory pool, where the gate holds a few hundred bytes.
constexpr std::chrono::milliseconds kKeptConnectionGrace{1000};

MHD_Response* makeMhdResponse(Response& r, const std::shared_ptr<HttpServer::LoopParking>& parking,
                              std::size_t blockBytes) {
    if (r.stream) {
        return MHD_create_response_from_callback(
            r.streamSize == UINT64_MAX ? MHD_SIZE_UNKNOWN : r.streamSize, blockBytes, readOnLoop,
            new LoopBody{std::move(r.stream), parking}, freeLoopBody);
    }
    if (r.file) {
        // libmicrohttpd owns (and closes) the descriptor from here on.
        int fd = r.file->fd->release();
        return MHD_create_response_from_fd_at_offset64(r.file->length, fd, r.file->offset);
    }
    return MHD_create_response_from_buffer(r.body.size(), r.body.data(), MHD_RESPMEM_MUST_COPY);
}

// `close`: the connection ends after this answer (a refusal at the head,
// whose body was not read; every answer of the stream loop). `parking`: a
// loop's request, whose stream parks; `blockBytes`: what libmicrohttpd
// asks such a stream for at once.
MHD_Result queue(MHD_Connection* connection, Response&& r, bool close,
                 const std::shared_ptr<HttpServer::LoopParking>& parking = nullptr,
                 std::size_t blockBytes = kLoopBlockBytes) {
    MHD_Response* response = makeMhdResponse(r, parking, blockBytes);
    if (!response) {
        log::error("libmicrohttpd could not create a response");
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.contentType.c_str());
    if (close) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    for (const auto& [name, value] : r.headers) {
        MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    MHD_Result rc = MHD_queue_response(connection, r.status, response);
    MHD_destroy_response(response);
    return rc;
}

// A target holding %00 is left undecoded, so that no NUL ever cuts a path
// or a value short; handle() then refuses it. The gate refuses it in the
// first request of a connection; this holds for the kept-alive ones after.
size_t unescapeWithoutNul(void*, MHD_Connection*, char* text) {
    if (std::strstr(text, "%00") != nullptr) {
        return std::strlen(text);
    }
    return MHD_http_unescape(text);
}

MHD_Result countHeader(void* cls, MHD_ValueKind, const char* key, const char*) {
    auto* counts = static_cast<std::pair<int, bool>*>(cls);
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        ++counts->first;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        counts->second = true;
    }
    return MHD_YES;
}

MHD_Result findNul(void* cls, MHD_ValueKind, const char* key, const char* value) {
    if (std::strstr(key, "%00") || (value && std::strstr(value, "%00"))) {
        *static_cast<bool*>(cls) = true;
        return MHD_NO;
    }
    return MHD_YES;
}

// What the gate checks in a connection's first head, checked again for
// every request: a kept-alive connection's later heads never pass the gate.
std::optional<Response> refusedHead(MHD_Connection* connection, const char* url) {
    bool nul = std::strstr(url, "%00") != nullptr;
    if (!nul) {
        MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &findNul, &nul);
    }
    if (nul) {
        return jsonError(400, "BadRequest", "the request target holds %00 (a NUL byte)");
    }
    std::pair<int, bool> counts{0, false};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &countHeader, &counts);
    if (counts.first > 1) {
        return jsonError(400, "BadRequest", "Content-Length is given more than once");
    }
    if (counts.first == 1 && counts.second) {
        return jsonError(400, "BadRequest",
                         "Content-Length and Transfer-Encoding together are ambiguous");
    }
    if (counts.second) {
        return jsonError(411, "LengthRequired",
                         "a request body needs a Content-Length; Transfer-Encoding "
                         "(a chunked body) is not accepted");
    }
    return std::nullopt;
}

MHD_Result accessOnRequestLoop(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char* version, const char* uploadData,
                               size_t* uploadSize, void** state) {
    auto* server = static_cast<HttpServer*>(cls);
    return static_cast<MHD_Result>(
        server->handle(connection, url, method, version, uploadData, uploadSize, state));
}

MHD_Result accessOnLoop(void* cls, MHD_Connection* connection, const char* url, const char* method,
                        const char*, const char*, size_t* uploadSize, void** state) {
    // libmicrohttpd starts the loop's thread: it is lowered at its first request.
    static thread_local bool lowered = false;
    if (!std::exchange(lowered, true)) {
        lowerThisThreadForStreams();
    }
    auto* server = static_cast<HttpServer*>(cls);
    return static_cast<MHD_Result>(
        server->handleOnLoop(connection, url, method, uploadSize, state));
}

// What the server tracks of the connection (set when it started); nullptr
// for one libmicrohttpd took without a hand-off.
HttpServer::Tracked* trackedOf(MHD_Connection* connection) {
    const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? static_cast<HttpServer::Tracked*>(info->socket_context) : nullptr;
}

// libmicrohttpd 0.9.75 calls this on the loop's thread, after the whole
// answer was sent (or the request ended) and before it reads from the
// connection again.
void completed(void* cls, MHD_Connection* connection, void** state,
               MHD_RequestTerminationCode code) {
    auto* context = static_cast<HttpServer::Context*>(*state);
    bool keptAlive = code == MHD_REQUEST_TERMINATED_COMPLETED_OK && context && context->keepAlive;
    if (context && context->parking) {
        static_cast<HttpServer*>(cls)->forget(context->parking.get());
    }
    delete context;
    *state = nullptr;
    if (auto* tracked = keptAlive ? trackedOf(connection) : nullptr) {
        static_cast<HttpServer*>(cls)->handBack(connection, *tracked);
    }
}

bool hasToken(MHD_Connection* connection, const char* token) {
    const char* value =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION);
    return value && strcasestr(value, token) != nullptr;
}

// libmicrohttpd's own rule (keepalive_possible() in 0.9.75), for an answer
// without "Connection: close": HTTP/1.1 unless the client said close;
// HTTP/1.0 only if it asked for keep-alive and the length is known. A wrong
// guess costs nothing but the check: a client told to close closes.
bool keepsAlive(MHD_Connection* connection, const char* version, const Response& response) {
    if (hasToken(connection, "close")) {
        return false;
    }
    if (std::strcmp(version, MHD_HTTP_VERSION_1_1) == 0) {
        return true;
    }
    return std::strcmp(version, MHD_HTTP_VERSION_1_0) == 0 && hasToken(connection, "keep-alive") &&
           !(response.stream && response.streamSize == UINT64_MAX);
}

void notifyConnection(void* cls, MHD_Connection* connection, void** socketContext,
                      MHD_ConnectionNotificationCode code) {
    auto* server = static_cast<HttpServer*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        server->connectionStarted(info ? info->connect_fd : -1, socketContext);
    } else {
        server->connectionClosed(socketContext);
    }
}

// The gate let one Content-Length through at most (request_head.cpp).
std::optional<std::uint64_t> declaredLength(MHD_Connection* connection) {
    const char* value =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!value) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    std::from_chars(value, value + std::char_traits<char>::length(value), n);
    return n;
}

Response tooLarge(const Request& request, std::size_t limit, bool form) {
    if (limit == 0) {
        return jsonError(413, "PayloadTooLarge",
                         fmt::format("{} {} takes no request body", request.method, request.path));
    }
    return jsonError(413, "PayloadTooLarge",
                     fmt::format("the request body is larger than {} bytes ({})", limit,
                                 form ? "max_upload_bytes" : "max_body_bytes"));
}

Request headOf(MHD_Connection* connection, const char* url, const char* method) {
    Request request;
    request.method = method;
    request.path = url;
    if (const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD)) {
        request.connectionFd = info->connect_fd;
    }
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect, &request.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collectQuery, &request.query);
    return request;
}

}  // namespace

namespace {

// A loop's daemon: libmicrohttpd in epoll mode, its connections suspended
// while their handlers run (`flags` adds the rest), with the server's
// callbacks and limits. SIGPIPE is ignored (the server's constructor sees
// to it): libmicrohttpd sends files with sendfile(), which cannot suppress
// the signal per call, only when told so; else it reads every file into
// its buffer and sends that (0.60x nginx's downloads, bench/forwarder-artifact).
MHD_Daemon* startLoopDaemon(HttpServer* server, const ServerLimits& limits, unsigned flags,
                            MHD_AccessHandlerCallback access, std::size_t poolBytes) {
    unsigned mhdLimit = limits.gate.maxConnections + 16;
    return MHD_start_daemon(
        flags | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET, 0, nullptr,
        nullptr, access, server, MHD_OPTION_CONNECTION_LIMIT, mhdLimit,
        MHD_OPTION_CONNECTION_TIMEOUT, limits.idleTimeoutSec, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        poolBytes, MHD_OPTION_NOTIFY_COMPLETED, &completed, server, MHD_OPTION_NOTIFY_CONNECTION,
        &notifyConnection, server, MHD_OPTION_UNESCAPE_CALLBACK, &unescapeWithoutNul, nullptr,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
}

}  // namespace

HttpServer::HttpServer(UniqueFd listenFd, ServerLimits limits, Admit admit, Dispatch dispatch,
                       OnRefusal onRefusal, ChooseLoop chooseLoop, AnswerOnLoop answerOnLoop)
    : limits_(limits),
      admit_(std::move(admit)),
      dispatch_(std::move(dispatch)),
      onRefusal_(std::move(onRefusal)),
      chooseLoop_(std::move(chooseLoop)),
      answerOnLoop_(std::move(answerOnLoop)) {
    limits_.gate.keepAliveTimeoutSec = limits_.idleTimeoutSec;
    if (!chooseLoop_) {
        chooseLoop_ = [](std::string_view) {
            return ServedBy::RequestLoop;
        };
    }
    // A client gone mid-answer is an error of the write, not a signal that
    // ends the forwarder (startLoopDaemon).
    std::signal(SIGPIPE, SIG_IGN);
    startStreamLoop();
    startRequestLoop();
    gate_ = std::make_unique<HttpGate>(
        std::move(listenFd), limits_.gate,
        [this](int fd, const sockaddr* address, socklen_t length, std::string_view head,
               std::uint64_t consumed) { return handOff(fd, address, length, head, consumed); },
        [this](unsigned status, const std::string& error) { refused(status, error); },
        [this](std::string_view head) { return answerHere(head); });
}

std::optional<HttpGate::Answer> HttpServer::answerHere(std::string_view head) {
    auto loop = answerOnLoop_ ? loopRequestOfHead(head) : std::nullopt;
    if (!loop) {
        return std::nullopt;
    }
    bool headOnly = loop->request.method == "HEAD";
    bool close = !loop->keepAlive;
    bool http10 = loop->http10;
    auto onLoop = answerOnLoop_(loop->request);  // may move the request into a relay
    if (onLoop.response) {
        return gateAnswer(*onLoop.response, headOnly, close, http10);
    }
    if (!onLoop.relay) {
        return std::nullopt;
    }
    auto relay = std::make_shared<HttpGate::Relay>();
    if (onLoop.relay->ask) {
        relay->ask = [ask = std::move(onLoop.relay->ask), headOnly, close, http10](
                         AgentOnLoop& agent, std::function<void(HttpGate::Answer &&)> reply) {
            ask(agent, [reply = std::move(reply), headOnly, close, http10](Response&& response) {
                reply(gateAnswer(response, headOnly, close, http10));
            });
        };
        return HttpGate::Answer{{}, false, std::move(relay)};
    }
    relay->request = std::move(onLoop.relay->request);
    relay->answer = [finish = std::move(onLoop.relay->finish), headOnly, close, http10](
                        HttpResponse* answer, const HttpError* error) {
        auto response = finish(answer, error);
        return gateAnswer(response, headOnly, close, http10);
    };
    return HttpGate::Answer{{}, false, std::move(relay)};
}

HttpGate::Answer HttpServer::gateAnswer(Response& response, bool headOnly, bool close,
                                        bool http10) {
    if (response.stream || response.file) {
        // Routes answered on the loop answer from memory; one that does not is a bug here.
        log::error("a route answered on the loop streams");
        response = jsonError(500, "Internal", "the answer could not be sent");
    }
    if (http10 && !close) {
        response.headers.emplace_back(MHD_HTTP_HEADER_CONNECTION, "Keep-Alive");
    }
    return HttpGate::Answer{loopAnswerBytes(response, headOnly, close, httpDateNow()), close, {}};
}

// The stream loop: libmicrohttpd's epoll on one thread of its own, resumed
// connections signalled to it through its eventfd (MHD_USE_ITC).
void HttpServer::startStreamLoop() {
    streamDaemon_ = startLoopDaemon(this, limits_, MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC,
                                    &accessOnLoop, kLoopPoolBytes);
    if (!streamDaemon_) {
        throw std::runtime_error("libmicrohttpd could not start its stream loop");
    }
    streamWork_ = std::make_unique<WorkQueue>("stream-handler", kStreamHandlers);
}

// The request loop: libmicrohttpd in external-epoll mode (no thread, and so
// no eventfd, of its own: RequestLoop's thread runs it and is woken for it).
// Its memory pool holds a head the gate accepted (at most max_head_bytes)
// with as much again for the body's read buffer; no more, as libmicrohttpd
// touches (clears) the pool of every connection.
void HttpServer::startRequestLoop() {
    requestDaemon_ = startLoopDaemon(this, limits_, MHD_USE_EPOLL, &accessOnRequestLoop,
                                     2 * limits_.gate.head.maxHeadBytes);
    if (!requestDaemon_) {
        MHD_stop_daemon(streamDaemon_);
        throw std::runtime_error("libmicrohttpd could not start its request loop");
    }
    requestWork_ = std::make_unique<WorkQueue>("request-handler", limits_.requestHandlers,
                                               kRequestHandlerKeepIdle);
    waitGroups_ = std::make_unique<WaitGroups>(
        [this](std::function<void()> job) { return postUnlessStopping(std::move(job)); });
    try {
        requestLoop_ = std::make_unique<RequestLoop>(
            requestDaemon_, limits_.gate.head, kKeptConnectionGrace,
            [this](std::string_view head) { return chooseLoop_(head) == ServedBy::RequestLoop; },
            [this](MHD_Connection* connection, const HeadWait& wait) {
                if (auto* tracked = trackedOf(connection)) {
                    afterHeadWait(*tracked, wait);
                }
            },
            [this](int fd) { addFailed(fd); });
    } catch (...) {
        requestWork_.reset();
        MHD_stop_daemon(requestDaemon_);
        MHD_stop_daemon(streamDaemon_);
        throw;
    }
}

HttpServer::~HttpServer() {
    gate_->stop();  // no more hand-offs; closing connections still release into it
    {
        // No handler is posted to a worker any more; one posted before that
        // has not started answers 503 at once (post).
        std::lock_guard lock(parkingMutex_);
        stopping_ = true;
    }
    // The handlers running end, and their answers are sent (both loops run
    // meanwhile). A connection resumed before its handler returned would sit
    // in libmicrohttpd's ready list, spinning its loop, and be freed at its
    // timeout while the handler still reads its request.
    streamWork_.reset();
    requestWork_.reset();
    {
        // Every parked stream (a follower) resumed, never parked again.
        std::lock_guard lock(parkingMutex_);
        for (auto* parking : parkings_) {
            parking->stop();
        }
    }
    requestLoop_.reset();  // every kept-alive connection it waited on ended
    MHD_stop_daemon(streamDaemon_);
    MHD_stop_daemon(requestDaemon_);
}

void HttpServer::forget(void* parking) {
    auto* loopParking = static_cast<LoopParking*>(parking);
    loopParking->detach();
    std::lock_guard lock(parkingMutex_);
    parkings_.erase(loopParking);
}

void HttpServer::refused(unsigned status, const std::string& error) {
    if (onRefusal_) {
        onRefusal_(status, error);
    }
}

bool HttpServer::handOff(int fd, const sockaddr* address, unsigned length, std::string_view head,
                         std::uint64_t consumed) {
    bool streams = chooseLoop_(head) == ServedBy::StreamLoop;
    // A connection handed back (handBack) has had requests before this one,
    // which the kernel counts as received too: they are the base of what
    // libmicrohttpd will be found to have read.
    {
        std::lock_guard lock(handedOffMutex_);
        handedOff_[fd] = {HttpGate::addressKey(address), consumed + head.size()};
    }
    if (!streams) {
        requestLoop_->add(fd, address, length);  // added on its thread
        return true;
    }
    if (MHD_add_connection(streamDaemon_, fd, address, length) == MHD_YES) {
        return true;
    }
    // libmicrohttpd closed the socket; if it never saw it start, it is ours
    // to release.
    std::lock_guard lock(handedOffMutex_);
    return handedOff_.erase(fd) == 0;
}

void HttpServer::connectionStarted(int fd, void** socketContext) {
    auto* tracked = new Tracked{};
    {
        std::lock_guard lock(handedOffMutex_);
        auto it = handedOff_.find(fd);
        if (it == handedOff_.end()) {
            delete tracked;
            return;
        }
        tracked->address = std::move(it->second.first);
        tracked->taken = it->second.second;
        handedOff_.erase(it);
    }
    tracked->fd = fd;
    *socketContext = tracked;
}

void HttpServer::connectionClosed(void** socketContext) {
    auto* tracked = static_cast<Tracked*>(*socketContext);
    if (!tracked) {
        return;
    }
    gate_->release(tracked->address);
    delete tracked;
    *socketContext = nullptr;
}

// The next head arrived and passed (libmicrohttpd reads it), or the
// connection goes back to the gate (Quiet) or ends.
void HttpServer::afterHeadWait(Tracked& tracked, const HeadWait& wait) {
    switch (wait.outcome) {
        case HeadWait::Outcome::Arrived:
            tracked.ended = false;
            tracked.taken += wait.headBytes;
            return;
        case HeadWait::Outcome::Quiet:
            if (auto connection = takeFromBeneath(tracked.fd)) {
                gate_->takeBack(std::move(connection), tracked.address, tracked.taken);
            }
            return;
        case HeadWait::Outcome::Refused:
            refused(wait.problem.status, wait.problem.error);
            refuseConnection(tracked.fd, wait.problem.status, wait.problem.error,
                             wait.problem.message);
            break;
        case HeadWait::Outcome::Ended:
            break;
    }
    endBeneath(tracked.fd);
}

// On the request loop's thread (libmicrohttpd's notify-completed callback):
// an answered kept-alive connection waits for its next head without a
// thread (request_loop.hpp). A client that pipelined (sent before its
// answer was whole) has had (part of) its next request read by
// libmicrohttpd already, and that head cannot be checked first: the
// connection ends here, after a complete answer, as HTTP/1.1 lets a server
// end any connection, and the client sends its unanswered requests again.
// libmicrohttpd's epoll set holds the socket under its descriptor, so the
// connection is suspended first (which takes the socket out of that set
// while the descriptor is still its own) and resumed once an ended socket
// is under the descriptor, which libmicrohttpd then adds, reads the end of
// and closes.
void HttpServer::handBack(void* conn, Tracked& tracked) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    tracked.ended = true;
    if (bytesConsumed(tracked.fd, tracked.taken) == tracked.taken) {
        requestLoop_->watch(connection, tracked.fd);
        return;
    }
    MHD_suspend_connection(connection);
    endBeneath(tracked.fd);
    requestLoop_->resume(connection);
}

void HttpServer::addFailed(int fd) {
    std::string address;
    {
        std::lock_guard lock(handedOffMutex_);
        auto it = handedOff_.find(fd);
        if (it == handedOff_.end()) {
            return;  // started, and released when it closed
        }
        address = std::move(it->second.first);
        handedOff_.erase(it);
    }
    gate_->release(address);
}

int HttpServer::handle(void* conn, const char* url, const char* method, const char* version,
                       const char* uploadData, std::size_t* uploadSize, void** state) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    if (!*state) {
        if (endedBeneath(connection)) {
            return MHD_NO;  // a request read ahead of a pipelining client
        }
        auto* context = new Context;
        *state = context;
        countBody(connection);
        Admission admission;
        if (auto refused = admitHead(connection, url, method, *context, admission)) {
            return *refused;
        }
        context->limit = admission.maxBodyBytes;
        context->waitsOn = std::move(admission.waitsOn);
        if (admission.form) {
            context->post =
                MHD_create_post_processor(connection, 64 * 1024, &formPiece, &context->form);
            if (!context->post) {
                return queue(connection,
                             jsonError(400, "InvalidUpload",
                                       "multipart/form-data without a boundary= parameter"),
                             true);
            }
        }
        // Every body has a Content-Length (request_head.cpp): over the
        // limit, it is refused before a byte of it is read.
        if (auto length = declaredLength(connection); length && *length > context->limit) {
            return queue(connection, tooLarge(context->request, context->limit, context->post),
                         true);
        }
        return MHD_YES;
    }
    auto* context = static_cast<Context*>(*state);
    if (*uploadSize != 0) {
        if (context->badForm) {
            // keep reading to the end, then answer
        } else if (context->post) {
            context->badForm = MHD_post_process(context->post, uploadData, *uploadSize) != MHD_YES;
        } else {
            context->request.body.append(uploadData, *uploadSize);
        }
        *uploadSize = 0;
        return MHD_YES;
    }
    if (context->dispatched) {
        return dispatchOnLoop(connection, version, *context);  // resumed
    }
    if (context->post) {
        context->badForm |= MHD_destroy_post_processor(context->post) != MHD_YES;
        context->post = nullptr;
    }
    if (context->badForm) {
        return queue(connection,
                     jsonError(400, "InvalidUpload",
                               fmt::format("the multipart/form-data body is malformed or has "
                                           "more than {} parts",
                                           kMaxFormFields)),
                     true);
    }
    context->request.form = std::move(context->form);
    return dispatchOnLoop(connection, version, *context);
}

std::optional<int> HttpServer::admitHead(void* conn, const char* url, const char* method,
                                         Context& context, Admission& admission) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    if (auto refusal = refusedHead(connection, url)) {
        return queue(connection, std::move(*refusal), true);
    }
    context.request = headOf(connection, url, method);
    // Who is asking and how much they may send, before a byte of the body
    // is read: a refusal now makes libmicrohttpd close the connection.
    admission = admit_(context.request);
    if (admission.refusal) {
        return queue(connection, std::move(*admission.refusal), true);
    }
    return std::nullopt;
}

// The stream loop's request: admitted at its head on the loop; once whole
// (the choice lets no body through), its handler runs on the worker while
// the connection is parked, and the answer is queued when it is resumed.
int HttpServer::handleOnLoop(void* conn, const char* url, const char* method,
                             std::size_t* uploadSize, void** state) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    if (!*state) {
        auto* context = new Context;
        *state = context;
        Admission admission;
        if (auto refused = admitHead(connection, url, method, *context, admission)) {
            return *refused;
        }
        context->parking = std::make_shared<LoopParking>(connection);
        context->answer = std::make_shared<LoopAnswer>(context->parking);
        context->request.parking = context->parking;
        context->request.answerLater = context->answer;
        return MHD_YES;
    }
    auto* context = static_cast<Context*>(*state);
    if (*uploadSize != 0) {
        *uploadSize = 0;  // none is admitted; nothing is kept
        return MHD_YES;
    }
    if (auto answer = context->answer->take()) {
        context->request = Request{};  // the stream keeps what it needs
        return queueOnLoop(connection, std::move(*answer), true, context->parking);
    }
    if (context->dispatched) {
        return MHD_YES;  // resumed by a stop before the handler is done
    }
    return parkAndPost(connection, *context, *streamWork_);
}

int HttpServer::dispatchOnLoop(void* conn, const char* version, Context& context) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    if (context.dispatched) {
        auto answer = context.answer->take();
        if (!answer) {
            return MHD_YES;  // resumed by a stop before the handler is done
        }
        context.keepAlive = keepsAlive(connection, version, *answer);
        return queueOnLoop(connection, std::move(*answer), false, context.parking);
    }
    context.parking = std::make_shared<LoopParking>(connection, requestLoop_.get());
    context.answer = std::make_shared<LoopAnswer>(context.parking);
    context.request.parking = context.parking;  // a follower's stream parks
    context.request.answerLater = context.answer;
    return parkAndPost(connection, context, *requestWork_);
}

// A loop's request, whole: its handler goes to a worker of `work` while the
// connection is parked; a stopping server answers 503 instead. Under the
// lock, so that the stop finds every parked request (and posts none after).
int HttpServer::parkAndPost(void* conn, Context& context, WorkQueue& work) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    std::lock_guard lock(parkingMutex_);
    if (stopping_) {
        return queue(connection, jsonError(503, "Unavailable", "the forwarder is stopping"), true);
    }
    parkings_.insert(context.parking.get());
    context.dispatched = true;
    context.parking->park();
    post(work, context);
    return MHD_YES;
}

// The handler of a loop's request, on a worker. The worker holds the
// answer's slot itself: once it has said the handler returned, the loop may
// end the request and free `context`. A handler takes its turn in its wait
// group (wait_groups.hpp); the stream loop's requests are in none, and a
// later turn goes to the request loop's workers, whose groups they are.
void HttpServer::post(WorkQueue& work, Context& context) {
    auto job = [this, request = &context.request, slot = context.answer] {
        Response answer;
        try {
            answer = stopping() ? jsonError(503, "Unavailable", "the forwarder is stopping")
                                : dispatch_(*request);
        } catch (const std::exception& e) {
            log::error("{} {}: {}", request->method, request->path, e.what());
            answer = jsonError(500, "Internal", e.what());
        }
        slot->returned(answer.later ? std::nullopt : std::optional<Response>(std::move(answer)));
    };
    waitGroups_->run(context.waitsOn, std::move(job), [&work](std::function<void()> now) {
        work.post(std::move(now));  // under parkingMutex_, not stopping
        return true;
    });
}

bool HttpServer::stopping() {
    return stopping_;
}

// A loop's answer. A stream that does not park may block (a download
// relayed, a journal read): a worker reads it ahead, and the loop sends
// what it has read. (Every route the stream loop takes answers with a
// stream that parks; one that does not is read ahead the same way.)
int HttpServer::queueOnLoop(void* connection, Response&& answer, bool close,
                            const std::shared_ptr<LoopParking>& parking) {
    if (!answer.stream || answer.parks) {
        return queue(static_cast<MHD_Connection*>(connection), std::move(answer), close, parking);
    }
    answer.stream = pumpedStream(std::move(answer.stream), parking,
                                 {[this](auto job) { return postUnlessStopping(std::move(job)); },
                                  [this] {
                                      return stopping();
                                  }});
    return queue(static_cast<MHD_Connection*>(connection), std::move(answer), close, parking,
                 kPumpedBlockBytes);
}

bool HttpServer::postUnlessStopping(std::function<void()> job) {
    std::lock_guard lock(parkingMutex_);
    if (stopping_) {
        return false;
    }
    requestWork_->post(std::move(job));
    return true;
}

bool HttpServer::endedBeneath(void* conn) {
    auto* tracked = trackedOf(static_cast<MHD_Connection*>(conn));
    return tracked && tracked->ended;
}

void HttpServer::countBody(void* conn) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    auto* tracked = trackedOf(connection);
    if (!tracked) {
        return;
    }
    if (auto length = declaredLength(connection)) {
        tracked->taken += *length;
    }
}

}  // namespace imagebuild::forwarder
