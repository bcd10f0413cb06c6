// libmicrohttpd glue: two loops behind one gate (http_gate.hpp), which
// holds each new connection, costing no thread, until its request head has
// arrived and picks a loop by that head (stream_choice.hpp):
// - the request loop: one thread (libmicrohttpd's epoll) for every request
//   but the stream loop's followers (the API, the web UI, /metrics,
//   downloads, logs read to their end). It reads the head and the body;
//   the handler then runs on a worker of a bounded pool (work_queue.hpp)
//   while the connection is suspended, and the answer is sent when the
//   worker resumes it: a file with sendfile, a follower's stream parking
//   when it has nothing to send, any other stream read ahead on a worker
//   (stream_pump.hpp). Once it has answered a kept-alive connection, the
//   loop waits for the next head itself, without a thread
//   (request_loop.hpp), checking it before libmicrohttpd reads it: every
//   refusal is our JSON. A connection quiet for a second goes back to the
//   gate (hand_back.hpp).
// - the stream loop: one thread (libmicrohttpd's epoll) for the followers
//   of a build's log whose heads fit its small memory pools. Its handler
//   runs on a worker (work_queue.hpp) while the connection is suspended;
//   its stream parks the connection when it has nothing to send
//   (stream_parking.hpp) and is resumed by whoever has more. Its answers
//   close the connection: no next head is read there.
// No connection, request or follower has a thread of its own.
// At the head, before a byte of the body is read, the request is admitted
// (routed, authenticated, its body limit known) or refused, and the
// connection closed. Everything else is the dispatcher's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/unique_fd.hpp"
#include "forwarder/http_gate.hpp"
#include "forwarder/http_types.hpp"
#include "forwarder/loop_answer.hpp"
#include "forwarder/request_loop.hpp"
#include "forwarder/stream_choice.hpp"
#include "forwarder/wait_groups.hpp"
#include "forwarder/work_queue.hpp"

struct MHD_Daemon;

namespace imagebuild::forwarder {

struct ServerLimits {
    GateLimits gate;
    unsigned idleTimeoutSec = 60;
    // Threads running the request loop's handlers (and reading its streams
    // ahead) at most, started as requests come and ended after a while idle.
    // A handler blocks on the local agent (at most 32 bus connections,
    // local_agent.hpp), a peer (at most 32 connections each, peers.hpp) or
    // a fleet-wide list (at most 16 engines, fan_out.hpp), and at most that
    // many handlers of each run at once (wait_groups.hpp); requests past
    // either bound wait their turn in order, holding no thread. Large enough
    // for several slow peers and a hung agent at once with room for
    // everyone else; small enough that a flood costs a bounded number of
    // threads, where a thread per request would start one each.
    unsigned requestHandlers = 256;
};

class HttpServer {
public:
    // Called with method, path, query and headers filled, no body.
    using Admit = std::function<Admission(Request&)>;
    using Dispatch = std::function<Response(Request&)>;
    // A connection refused before any route saw it (the gate, or a
    // kept-alive connection's next head): status and JSON error name.
    using OnRefusal = HttpGate::OnRefusal;
    // A connection's first head (checked by the gate): which loop serves
    // it (stream_choice.hpp). Without one, the request loop serves
    // everything.
    using ChooseLoop = std::function<ServedBy(std::string_view head)>;

    // The answer to a request whose route never blocks, made on the gate's
    // loop, or the peer request it relays (App::answerOnLoop); neither: the
    // request goes to a loop of libmicrohttpd's.
    using AnswerOnLoop = std::function<OnLoop(Request&)>;

    // Starts serving at once; throws std::runtime_error if libmicrohttpd refuses.
    HttpServer(UniqueFd listenFd, ServerLimits limits, Admit admit, Dispatch dispatch,
               OnRefusal onRefusal = {}, ChooseLoop chooseLoop = {},
               AnswerOnLoop answerOnLoop = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Called by libmicrohttpd's trampolines; public for them only.
    struct Context;
    class LoopAnswer;
    int handle(void* connection, const char* url, const char* method, const char* version,
               const char* uploadData, std::size_t* uploadSize, void** state);
    int handleOnLoop(void* connection, const char* url, const char* method, std::size_t* uploadSize,
                     void** state);
    void connectionStarted(int fd, void** socketContext);
    void connectionClosed(void** socketContext);
    // A loop's request ended: its parking is no longer the server's.
    void forget(void* parking);

    struct Tracked;
    class LoopParking;
    // An answer of the request loop was sent and the connection is kept
    // (on the loop's thread): the loop waits for its next head, or it ends.
    void handBack(void* connection, Tracked& tracked);

private:
    bool handOff(int fd, const struct sockaddr* address, unsigned length, std::string_view head,
                 std::uint64_t consumed);
    void startStreamLoop();
    void startRequestLoop();
    void afterHeadWait(Tracked& tracked, const HeadWait& wait);
    // The request loop could not add a connection handed off to it.
    void addFailed(int fd);
    // The request loop's request, whole: its handler is posted to a worker
    // while the connection is parked, and its answer queued when resumed.
    int dispatchOnLoop(void* connection, const char* version, Context& context);
    int parkAndPost(void* connection, Context& context, WorkQueue& work);
    void post(WorkQueue& work, Context& context);
    bool stopping();
    int queueOnLoop(void* connection, Response&& answer, bool close,
                    const std::shared_ptr<LoopParking>& parking);
    // A loop's stream reading ahead (stream_pump.hpp), on the request
    // loop's workers.
    bool postUnlessStopping(std::function<void()> job);
    // The head, checked again and admitted (into context.request and
    // `admission`); if refused, the refusal was queued and this is the
    // access handler's result.
    std::optional<int> admitHead(void* connection, const char* url, const char* method,
                                 Context& context, Admission& admission);
    void countBody(void* connection);
    // The connection was ended beneath libmicrohttpd (handBack).
    bool endedBeneath(void* connection);
    void refused(unsigned status, const std::string& error);
    std::optional<HttpGate::Answer> answerHere(std::string_view head);
    static HttpGate::Answer gateAnswer(Response& response, bool headOnly, bool close, bool http10);

    ServerLimits limits_;
    Admit admit_;
    Dispatch dispatch_;
    OnRefusal onRefusal_;
    ChooseLoop chooseLoop_;
    AnswerOnLoop answerOnLoop_;
    MHD_Daemon* streamDaemon_ = nullptr;
    MHD_Daemon* requestDaemon_ = nullptr;
    std::unique_ptr<WorkQueue> streamWork_;
    std::unique_ptr<WorkQueue> requestWork_;
    std::unique_ptr<WaitGroups> waitGroups_;  // of requestWork_
    std::unique_ptr<RequestLoop> requestLoop_;
    std::mutex parkingMutex_;
    std::set<LoopParking*> parkings_;  // of the loops' requests now
    // Set under parkingMutex_ (so that no handler is posted after it);
    // read by the workers without it.
    std::atomic<bool> stopping_{false};
    std::mutex handedOffMutex_;
    // fd -> its address and the bytes its requests took with this head,
    // until libmicrohttpd takes it
    std::map<int, std::pair<std::string, std::uint64_t>> handedOff_;
    std::unique_ptr<HttpGate> gate_;
};

}  // namespace imagebuild::forwarder
