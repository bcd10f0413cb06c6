#include "forwarder/follow_hub.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <iterator>
#include <system_error>
#include <vector>

#include "forwarder/agent_on_loop.hpp"
#include "forwarder/follow_build.hpp"
#include "forwarder/follow_stream.hpp"
#include "forwarder/log.hpp"
#include "forwarder/sse.hpp"
#include "forwarder/thread_nice.hpp"

namespace imagebuild::forwarder {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 512;

// Outside the build's mutex: a resume takes libmicrohttpd's lock.
void unparkAll(const std::vector<std::shared_ptr<StreamParking>>& parked) {
    for (const auto& parking : parked) {
        parking->unpark();
    }
}
// Batches of one build per round of the loop, so that a burst of one build
// does not starve the others.
constexpr int kStepsPerRound = 8;
// A quiet build's journal is looked at again this often (a journal file
// rotated meanwhile), and a question that failed is asked again.
constexpr auto kQuiet = std::chrono::seconds(1);
// While calls are on the bus, it is dispatched at least this often (in
// milliseconds): sd-bus ends a call past its timeout only then.
constexpr int kAgentDispatch = 250;

// A peer's stream read per step at most (then the others' turn).
constexpr std::size_t kPeerBytesPerStep = 256 * 1024;

// The whole lines (text: without their newline) or events (SSE: with their
// blank line) at the front of `bytes`, taken out of it.
std::vector<RingLine> wholeSegments(std::string& bytes, MonitorFormat format) {
    std::string_view end = format == MonitorFormat::EventStream ? "\n\n" : "\n";
    std::vector<RingLine> out;
    std::size_t from = 0;
    for (auto at = bytes.find(end); at != std::string::npos; at = bytes.find(end, from)) {
        RingLine line;
        if (format == MonitorFormat::EventStream) {
            line.sse = bytes.substr(from, at + end.size() - from);
        } else {
            line.text = bytes.substr(from, at - from);
        }
        out.push_back(std::move(line));
        from = at + end.size();
    }
    bytes.erase(0, from);
    return out;
}

RingLine segmentOf(std::string bytes, MonitorFormat format) {
    RingLine line;
    (format == MonitorFormat::EventStream ? line.sse : line.text) = std::move(bytes);
    return line;
}

std::size_t sizeOf(const RingLine& line) {
    return sizeof(RingLine) + line.cursor.size() + line.text.size() + line.sse.size();
}

int millisecondsUntil(Clock::time_point when, Clock::time_point now) {
    auto due = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
    return static_cast<int>(std::clamp<std::int64_t>(due.count(), 0, 60'000));
}

}  // namespace

std::uint64_t cursorSeqnum(const std::string& cursor) {
    auto at = cursor.find(";i=");
    if (at == std::string::npos) {
        return 0;
    }
    return std::strtoull(cursor.c_str() + at + 3, nullptr, 16);
}

std::optional<std::uint64_t> FollowHub::Followed::find(const std::string& cursor) const {
    auto seqnum = cursorSeqnum(cursor);
    auto at =
        std::lower_bound(ring.begin(), ring.end(), seqnum,
                         [](const RingLine& line, std::uint64_t s) { return line.seqnum < s; });
    for (; at != ring.end() && at->seqnum == seqnum; ++at) {
        if (!at->notice && at->cursor == cursor) {
            return base + static_cast<std::uint64_t>(at - ring.begin());
        }
    }
    return std::nullopt;
}

FollowHub::FollowHub(Connect connect, FollowLimits limits)
    : connect_(std::move(connect)),
      limits_(limits),
      wakeFd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      agentEpoll_(epoll_create1(EPOLL_CLOEXEC)) {
    if (!wakeFd_ || !agentEpoll_) {
        throw std::system_error(errno, std::generic_category(), "eventfd, epoll_create1");
    }
}

FollowHub::~FollowHub() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake();
    if (thread_.joinable()) {
        thread_.join();
    }
    agent_.reset();  // made on the hub's thread, which is gone: no one uses it
}

std::size_t FollowHub::followedBuilds() const {
    std::lock_guard lock(mutex_);
    return builds_.size();
}

std::optional<BuildInfo> FollowHub::known(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = builds_.find(id);
    if (it == builds_.end()) {
        return std::nullopt;
    }
    std::lock_guard buildLock(it->second->mutex);
    return it->second->info;
}

void FollowHub::wake() {
    std::uint64_t one = 1;
    static_cast<void>(::write(wakeFd_.get(), &one, sizeof one));
}

std::shared_ptr<FollowHub::Followed> FollowHub::join(const BuildInfo& build) {
    auto joinExisting = [this, &build]() -> std::shared_ptr<Followed> {
        auto it = builds_.find(build.id);
        if (it == builds_.end()) {
            return nullptr;
        }
        std::lock_guard lock(it->second->mutex);
        ++it->second->followers;
        return it->second;
    };
    {
        std::lock_guard lock(mutex_);
        if (auto followed = joinExisting()) {
            return followed;
        }
    }
    // The first follower: open the build's reader (outside the lock: it
    // opens every journal file).
    auto fresh = std::make_shared<Followed>(build.id);
    fresh->log = std::make_unique<BuildLog>(build.id, LogReadOptions{true, false});
    // The hub's thread learns the state (learn()); the follower only looks.
    fresh->follower = std::make_unique<LogFollower>(
        *fresh->log, [raw = fresh.get()]() -> std::optional<std::string> {
            const auto& info = raw->info;  // written by the hub's thread only
            if (!info.finished()) {
                return std::nullopt;
            }
            return info.result.empty() ? info.state : info.result;
        });
    fresh->info = build;
    std::lock_guard lock(mutex_);
    if (auto followed = joinExisting()) {
        return followed;  // another follower came first
    }
    fresh->followers = 1;
    place(build.id, fresh);
    return fresh;
}

void FollowHub::place(std::string key, const std::shared_ptr<Followed>& build) {
    builds_.emplace(std::move(key), build);
    if (!thread_.joinable()) {
        thread_ = std::thread(&FollowHub::run, this);
    }
    wake();
}

// A peer's shared stream is joined while it holds the log from its first
// line, and did not fail; else a fresh one is opened (and shared from then).
std::shared_ptr<FollowHub::Followed> FollowHub::joinPeer(const std::string& buildId,
                                                         PeerFollow& peer, MonitorFormat format) {
    std::lock_guard lock(mutex_);
    auto it = peer.shareKey.empty() ? shared_.end() : shared_.find(peer.shareKey);
    if (auto followed = it == shared_.end() ? nullptr : it->second.lock()) {
        std::lock_guard buildLock(followed->mutex);
        // A stream whose followers all left may be out of builds_ already
        // (liveBuilds), read by nobody any more: never joined.
        bool read = followed->followers > 0;
        bool whole = read && followed->base == 0 && followed->failure.empty() &&
                     !(followed->ended && !followed->peerHead);
        bool answered = followed->peerHead && followed->peerHead->status != 200;
        if (whole && !answered) {
            ++followed->followers;
            return followed;
        }
    }
    auto fresh = std::make_shared<Followed>(buildId);
    fresh->peerUrl = peer.url;
    fresh->peerFormat = format;
    fresh->peer =
        std::make_unique<HttpPolledStream>(std::move(peer.request), std::chrono::hours(1));
    fresh->followers = 1;
    if (!peer.shareKey.empty()) {
        shared_[peer.shareKey] = fresh;
    }
    place(fmt::format("{} {} {}", buildId, contentTypeOf(format), ++relays_), fresh);
    return fresh;
}

namespace {

// A peer's build has said how its log begins: its owner's head (200), or
// its end (an error answer, a failure).
bool headDecided(const FollowHub::Followed& build) {
    return (build.peerHead && build.peerHead->status == 200) || build.ended;
}

}  // namespace

PeerFollowed FollowHub::followPeer(const std::string& buildId, PeerFollow peer,
                                   MonitorFormat format, int clientFd,
                                   std::shared_ptr<StreamParking> parking) {
    std::promise<PeerFollowed> answered;
    auto answer = answered.get_future();
    followPeerLater(
        buildId, std::move(peer), format, clientFd, std::move(parking),
        [&answered](PeerFollowed followed) { answered.set_value(std::move(followed)); });
    return answer.get();  // the hub answers by the request's timeout at the latest
}

void FollowHub::followPeerLater(const std::string& buildId, PeerFollow peer, MonitorFormat format,
                                int clientFd, std::shared_ptr<StreamParking> parking,
                                PeerFollowDone done) {
    auto deadline = Clock::now() + peer.request.timeout + kQuiet;  // the hub fails it first
    auto followed = joinPeer(buildId, peer, format);
    {
        std::lock_guard lock(followed->mutex);
        if (!headDecided(*followed)) {
            followed->headWaiters.push_back(
                PeerHeadWaiter{clientFd, std::move(parking), std::move(done), deadline});
            wake();  // the hub looks at waiters' deadlines every turn (at least every 0.5 s)
            return;
        }
    }
    done(answerOf(followed, clientFd, std::move(parking), ""));
}

// What a follower waiting for a peer's head gets once it is decided (not
// under the build's mutex): the stream, or the owner's error, or why the
// owner could not be asked; `failure` when the wait itself failed.
PeerFollowed FollowHub::answerOf(const std::shared_ptr<Followed>& build, int clientFd,
                                 std::shared_ptr<StreamParking> parking,
                                 const std::string& failure) {
    PeerFollowed out;
    {
        std::lock_guard lock(build->mutex);
        out.head = build->peerHead;
        out.errorBody = build->peerError;
        out.failure = build->failure;
    }
    if (!failure.empty()) {
        out.head.reset();
        out.failure = failure;
    }
    if (!out.head || out.head->status != 200) {
        if (!out.head && out.failure.empty()) {
            out.failure = "the owner's stream ended before its head";
        }
        leave(*build, false);
        return out;
    }
    auto stream = std::make_shared<FollowStream>(*this, build, BuildInfo{}, build->peerFormat, "",
                                                 clientFd, std::move(parking));
    out.stream = [stream](char* buffer, std::size_t max) {
        return stream->read(buffer, max);
    };
    return out;
}

// The hub's thread: the waiters of a peer's build whose head is decided,
// or whose wait is past its deadline, or all of them when the hub stops.
void FollowHub::answerHeadWaiters(const std::shared_ptr<Followed>& build, bool stopping) {
    auto now = Clock::now();
    std::vector<PeerHeadWaiter> ready;
    bool decided = false;
    {
        std::lock_guard lock(build->mutex);
        if (build->headWaiters.empty()) {
            return;
        }
        decided = headDecided(*build);
        std::vector<PeerHeadWaiter> waiting;
        for (auto& waiter : build->headWaiters) {
            bool due = decided || stopping || now >= waiter.deadline;
            (due ? ready : waiting).push_back(std::move(waiter));
        }
        build->headWaiters = std::move(waiting);
    }
    for (auto& waiter : ready) {
        std::string failure;
        if (!decided) {
            failure = stopping ? "the forwarder is stopping" : "no answer in time";
        }
        try {
            auto answer = answerOf(build, waiter.clientFd, std::move(waiter.parking), failure);
            answer.ours = stopping && !decided;
            waiter.done(std::move(answer));
        } catch (const std::exception& e) {  // an answer that could not be made: say so
            log::error("follow {} from {}: {}", build->id, build->peerUrl, e.what());
            PeerFollowed failed;
            failed.failure = e.what();
            failed.ours = true;
            waiter.done(std::move(failed));
        }
    }
}

BodyStream FollowHub::follow(BuildInfo build, MonitorFormat format, const std::string& resumeCursor,
                             int clientFd, std::shared_ptr<StreamParking> parking) {
    auto followed = join(build);
    auto stream =
        std::make_shared<FollowStream>(*this, std::move(followed), std::move(build), format,
                                       resumeCursor, clientFd, std::move(parking));
    return [stream](char* buffer, std::size_t max) {
        return stream->read(buffer, max);
    };
}

void FollowHub::leave(Followed& build, bool attached) {
    {
        std::lock_guard lock(build.mutex);
        --build.followers;
        if (attached) {
            --build.attached;
        }
    }
    wake();
}

// The hub's thread: a question for each local build that is due one, at
// most one on the bus per build. A question that fails is asked again a
// second later (a new connection is made for it); one that is answered is
// asked again when a signal names the build, or after kUnsignalledAsk.
void FollowHub::askWhatIsDue(const std::vector<std::shared_ptr<Followed>>& live) {
    auto now = Clock::now();
    for (const auto& build : live) {
        if (!build->follower || build->asking || now < build->askDue) {
            continue;
        }
        if (!agent_) {
            agent_ = std::make_unique<AgentOnLoop>(agentEpoll_.get(), connect_);
            agent_->watchBuilds([this](const auto& id) { stateMayHaveChanged(id); });
        }
        build->asking = true;
        build->askDue = now + kUnsignalledAsk;
        ++stateAsks_;
        agent_->getBuild(build->id, [this, weak = std::weak_ptr<Followed>(build)](
                                        BuildInfo* info, const sdbus::Error* error) {
            auto asked = weak.lock();
            if (!asked) {
                return;  // its followers left meanwhile
            }
            asked->asking = false;
            if (info) {
                learn(*asked, *info);
                return;
            }
            // Not an end: the end mark still ends the log, and we ask again.
            log::warning("follow {}: state unavailable: {}", asked->id, error->getMessage());
            asked->retryAfter = Clock::now() + kQuiet;
            asked->askDue = asked->retryAfter;
        });
    }
}

// The hub's thread, from a signal: the build named (or every local one)
// is asked about at the next turn; once more after a question on the bus
// now, whose answer may be older than the signal.
void FollowHub::stateMayHaveChanged(const std::optional<std::string>& id) {
    auto now = Clock::now();
    std::lock_guard lock(mutex_);
    if (id) {
        if (auto it = builds_.find(*id); it != builds_.end()) {
            it->second->askDue = std::max(now, it->second->retryAfter);
        }
        return;
    }
    for (auto& [key, build] : builds_) {
        // A peer's build has no follower: never asked. One whose question
        // just failed waits its second: a bus that drops each connection
        // at once must not have the hub reconnect in a tight loop.
        build->askDue = std::max(now, build->retryAfter);
    }
}

// The agent's answer: what a new follower is told, a stall that came or
// went (its followers are woken to say it), and a build that has ended
// (read now: its reader looks at the state and ends the log).
void FollowHub::learn(Followed& build, const BuildInfo& info) {
    std::vector<std::shared_ptr<StreamParking>> parked;
    {
        std::lock_guard lock(build.mutex);
        bool stallChanged = info.stalledSince != build.info.stalledSince;
        build.info = info;
        if (stallChanged) {
            ++build.stallVersion;
            build.changed.notify_all();
            parked.swap(build.waiting);
        }
    }
    unparkAll(parked);
    if (info.finished()) {
        build.nextStep = Clock::now();
    }
}

// The hub's thread: what its bus connection has (replies, signals, calls
// past their timeout), handed out.
void FollowHub::serveAgent(bool readable) {
    if (!agent_) {
        return;
    }
    if (readable) {
        epoll_event events[4];
        int n = epoll_wait(agentEpoll_.get(), events, 4, 0);
        for (int i = 0; i < n; ++i) {
            agent_->handle(events[i].data.fd);
        }
    }
    if (agent_->busy()) {
        agent_->dispatch();  // ends the calls past their timeout
    }
    agent_->deliver();
}

// Once the ring is full, the reader reads on only while the fastest
// follower is within half a ring of the newest line, a quarter of a ring at
// a time: the ring then always holds the fastest follower's next line, and
// a follower is cut only when it is about half a ring behind the fastest.
bool FollowHub::shouldRead(Followed& build) {
    std::lock_guard lock(build.mutex);
    bool full = build.ring.size() >= limits_.ringLines || build.bytes >= limits_.ringBytes;
    build.paused = build.attached > 0 && full && !build.nearTheEnd(build.fastest, limits_);
    return !build.paused;
}

void FollowHub::publish(Followed& build, std::vector<LogLine>& lines,
                        const std::optional<std::string>& endState, const std::string& failure) {
    std::vector<RingLine> ready;
    ready.reserve(lines.size());
    for (auto& line : lines) {
        RingLine r;
        r.notice = line.notice;
        r.seqnum = line.notice ? build.lastSeqnum : cursorSeqnum(line.cursor);
        build.lastSeqnum = r.seqnum;
        r.sse = sseLogLine(line.text, line.cursor);
        r.cursor = std::move(line.cursor);
        r.text = std::move(line.text);
        ready.push_back(std::move(r));
    }
    publishRing(build, std::move(ready), endState, failure);
}

void FollowHub::publishRing(Followed& build, std::vector<RingLine> ready,
                            const std::optional<std::string>& endState,
                            const std::string& failure) {
    std::unique_lock lock(build.mutex);
    bool changed = !ready.empty() || endState.has_value();
    for (auto& r : ready) {
        build.bytes += sizeOf(r);
        build.ring.push_back(std::move(r));
    }
    // The oldest lines go; by bytes (a few very long lines), never one the
    // fastest follower has not read.
    while (
        build.ring.size() > limits_.ringLines ||
        (build.bytes > limits_.ringBytes && (build.attached == 0 || build.base < build.fastest))) {
        build.bytes -= sizeOf(build.ring.front());
        build.ring.pop_front();
        ++build.base;
    }
    if (endState) {
        build.ended = true;
        build.endState = *endState;
        build.failure = failure;
        if (!endState->empty() && !build.info.finished()) {
            build.info.result = *endState;  // what a follower that comes now is told
        }
    }
    build.changed.notify_all();
    std::vector<std::shared_ptr<StreamParking>> parked;
    if (changed) {
        parked.swap(build.waiting);
    }
    lock.unlock();
    unparkAll(parked);
}

// Every kLookAtClient, each parked follower is woken once to look whether
// its client is still there (a suspended connection notices nothing) and
// whether a keep-alive is due. Not all at one instant: every tenth of that
// time a tenth of each build's parked followers, those parked longest first
// (a woken follower parks again at the back). Ten thousand followers woken
// at once were a burst of the stream loop's CPU every 5 s, and a health
// check that came then waited behind it. Fewer than ten are woken whole once
// a round.
void FollowHub::lookAtParked(const std::vector<std::shared_ptr<Followed>>& live) {
    constexpr std::size_t kSlices = 10;
    // In milliseconds: seconds(5) / 10 is zero seconds, and the hub spun.
    constexpr auto kSlice = std::chrono::milliseconds(kLookAtClient) / kSlices;
    static_assert(kSlice >= std::chrono::milliseconds(100), "the hub would wake too often");
    auto now = Clock::now();
    if (now < nextLook_) {
        return;
    }
    nextLook_ = now + kSlice;
    lookSlice_ = (lookSlice_ + 1) % kSlices;
    for (const auto& build : live) {
        std::vector<std::shared_ptr<StreamParking>> parked;
        {
            std::lock_guard lock(build->mutex);
            auto& waiting = build->waiting;
            std::size_t n = waiting.size() >= kSlices ? (waiting.size() + kSlices - 1) / kSlices
                            : lookSlice_ == 0         ? waiting.size()
                                                      : 0;
            auto end = waiting.begin() + static_cast<std::ptrdiff_t>(n);
            parked.assign(std::make_move_iterator(waiting.begin()), std::make_move_iterator(end));
            waiting.erase(waiting.begin(), end);
        }
        unparkAll(parked);
    }
}

// Reads what the build's journal holds now, a few batches at most.
void FollowHub::step(Followed& build) {
    auto now = Clock::now();
    auto batch = std::clamp<std::size_t>(limits_.ringLines / 4, 1, kBatch);
    for (int k = 0; k < kStepsPerRound; ++k) {
        if (k > 0 && !shouldRead(build)) {
            return;
        }
        std::vector<LogLine> lines;
        LogFollower::Step step;
        try {
            step = build.follower->step(lines, batch, std::chrono::milliseconds(0));
        } catch (const std::exception& e) {
            log::error("follow {}: cannot follow the journal: {}", build.id, e.what());
            publish(build, lines, std::string(), e.what());
            build.follower.reset();
            build.log.reset();
            return;
        }
        if (step == LogFollower::Step::Ended) {
            publish(build, lines, build.follower->finalState(), "");
            // The end is decided: the reader (and its inotify instance) goes.
            build.follower.reset();
            build.log.reset();
            return;
        }
        publish(build, lines, std::nullopt, "");
        if (step == LogFollower::Step::Quiet) {
            build.nextStep = now + kQuiet;
            return;
        }
    }
    build.nextStep = now;  // more to read: come back at once
}

// The owner's head, once: what the followers waiting for it are answered
// with (answerHeadWaiters, at the hub's next turn).
void FollowHub::publishPeerHead(Followed& build) {
    const auto* head = build.peer->head();
    std::lock_guard lock(build.mutex);
    if (head && !build.peerHead) {
        build.peerHead = *head;
        build.changed.notify_all();
    }
}

// A peer's build: what its owner sent, cut into whole lines (text) or
// events (SSE) so that a follower joins and a slow one is cut between two.
// An answer other than 200 is an error whose whole body is kept, not a log.
void FollowHub::stepPeer(Followed& build) {
    auto now = Clock::now();
    std::size_t had = build.partial.size();
    build.peer->step(build.partial, kPeerBytesPerStep, now);
    bool more = build.partial.size() - had >= kPeerBytesPerStep;
    publishPeerHead(build);
    const auto* head = build.peer->head();
    bool over = build.peer->over();
    std::vector<RingLine> ready;
    if (!head || head->status == 200) {
        ready = wholeSegments(build.partial, build.peerFormat);
        if (over && !build.partial.empty()) {
            ready.push_back(segmentOf(std::exchange(build.partial, {}), build.peerFormat));
        }
        for (auto& line : ready) {
            line.seqnum = ++build.lastSeqnum;
        }
    } else if (over) {
        std::lock_guard lock(build.mutex);
        build.peerError = std::exchange(build.partial, {});
    }
    if (!over) {
        publishRing(build, std::move(ready), std::nullopt, "");
        build.nextStep = more ? now : now + kQuiet;  // at least once a second: the deadlines
        return;
    }
    std::string failure;
    if (const auto* error = build.peer->error()) {
        failure = error->what();
        log::warning("follow {} from {}: {}", build.id, build.peerUrl, failure);
    }
    publishRing(build, std::move(ready), std::string(), failure);
    build.peer.reset();
}

std::vector<std::shared_ptr<FollowHub::Followed>> FollowHub::liveBuilds(bool& stop) {
    std::vector<std::shared_ptr<Followed>> live;
    std::lock_guard lock(mutex_);
    stop = stop_;
    for (auto it = builds_.begin(); it != builds_.end();) {
        std::unique_lock buildLock(it->second->mutex);
        if (it->second->followers == 0) {
            buildLock.unlock();
            it = builds_.erase(it);  // the last follower left: the reader stops
            continue;
        }
        live.push_back(it->second);
        ++it;
    }
    std::erase_if(shared_, [](const auto& entry) { return entry.second.expired(); });
    return live;
}

void FollowHub::run() {
    pthread_setname_np(pthread_self(), "follow-hub");
    lowerThisThreadForStreams();
    for (;;) {
        try {
            if (!turn()) {
                return;
            }
        } catch (const std::exception& e) {  // never out of the thread (std::terminate)
            log::error("follow: {}", e.what());
            std::this_thread::sleep_for(kQuiet);  // never spin on a failing turn
        }
    }
}

// One turn of the hub's thread: false once it stops.
bool FollowHub::turn() {
    auto& fds = pollFds_;
    auto& polled = polled_;
    bool stop = false;
    auto live = liveBuilds(stop);
    for (const auto& build : live) {
        if (!build->peerUrl.empty()) {
            answerHeadWaiters(build, stop);
        }
    }
    if (stop) {
        return false;
    }
    lookAtParked(live);
    askWhatIsDue(live);
    fds.assign(1, pollfd{wakeFd_.get(), POLLIN, 0});
    fds.push_back(pollfd{agentEpoll_.get(), POLLIN, 0});
    polled.clear();
    auto now = Clock::now();
    int timeout = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(nextLook_ - now).count());
    timeout = std::max(timeout, 0);
    if (agent_ && agent_->busy()) {
        timeout = std::min(timeout, kAgentDispatch);  // its calls' timeouts
    }
    if (agent_ && agent_->hasEnded()) {
        timeout = 0;
    }
    for (auto& build : live) {
        if ((!build->follower && !build->peer) || !shouldRead(*build)) {
            continue;  // ended, or waiting for its fastest follower
        }
        if (build->follower && !build->asking) {
            timeout = std::min(timeout, millisecondsUntil(build->askDue, now));
        }
        if (build->peer) {
            fds.push_back(pollfd{build->peer->fd(), build->peer->events(), 0});
            polled.push_back(build);
            timeout = std::min(timeout, millisecondsUntil(build->nextStep, now));
            continue;
        }
        int fd = build->log->journal().fd();
        if (fd < 0) {
            // No inotify instance (fs.inotify.max_user_instances): say
            // so to its followers rather than poll blindly.
            std::vector<LogLine> none;
            publish(*build, none, std::string(),
                    std::string("cannot watch the journal: ") + std::strerror(-fd));
            build->follower.reset();
            build->log.reset();
            continue;
        }
        fds.push_back(pollfd{fd, build->log->journal().events(), 0});
        polled.push_back(build);
        timeout = std::min(timeout, millisecondsUntil(build->nextStep, now));
    }
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
        log::error("follow: poll failed: {}", std::strerror(errno));
        std::this_thread::sleep_for(kQuiet);  // never spin on a failing poll
        return true;
    }
    if (fds[0].revents != 0) {
        std::uint64_t count = 0;
        static_cast<void>(::read(wakeFd_.get(), &count, sizeof count));
    }
    serveAgent(n > 0 && fds[1].revents != 0);
    now = Clock::now();
    for (std::size_t i = 0; i < polled.size(); ++i) {
        if (fds[i + 2].revents == 0 && now < polled[i]->nextStep) {
            continue;
        }
        if (polled[i]->peer) {
            stepPeer(*polled[i]);
        } else {
            step(*polled[i]);
        }
    }
    return true;
}

}  // namespace imagebuild::forwarder
