#include "forwarder/follow_stream.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "forwarder/html.hpp"
#include "forwarder/log.hpp"
#include "forwarder/sse.hpp"

namespace imagebuild::forwarder {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kKeepAlive = std::chrono::seconds(15);
// History read from its own journal by a follower that joined late, per
// read: a few lines, so that it meets the ring soon after passing it.
constexpr std::size_t kCatchUpLines = 64;
// A pending buffer grown by one long line is given back once it is sent.
constexpr std::size_t kKeepPending = 16 * 1024;
// readRing(): the follower parked (read() returns 0).
constexpr long kParked = -2;

std::string errorData(const char* error, const std::string& message) {
    nlohmann::json data{{"error", error}, {"message", message}};
    return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

FollowStream::FollowStream(FollowHub& hub, std::shared_ptr<FollowHub::Followed> build,
                           BuildInfo info, MonitorFormat format, const std::string& resumeCursor,
                           int clientFd, std::shared_ptr<StreamParking> parking)
    : hub_(hub),
      build_(std::move(build)),
      format_(format),
      clientFd_(clientFd),
      parking_(std::move(parking)) {
    if (!build_->peerUrl.empty()) {
        // A peer's build: its owner's bytes say the state and the end.
        std::lock_guard lock(build_->mutex);
        attachAt(0);
        return;
    }
    if (format_ == MonitorFormat::EventStream) {
        pending_ = sseEvent(info.state, "", "state");
        if (info.stalled() && !info.finished()) {
            // A stream that opens on a stalled build starts by saying so.
            sentStalled_ = true;
            pending_ +=
                sseEvent(fmt::format("{{\"stalled_since\":{}}}", info.stalledSince), "", "stalled");
        }
    } else {
        textInfo_ = std::make_unique<BuildInfo>(std::move(info));
    }
    {
        std::lock_guard lock(build_->mutex);
        if (resumeCursor.empty() && build_->base == 0) {
            attachAt(0);  // the ring holds the log from its first line
            return;
        }
        if (auto at = resumeCursor.empty() ? std::nullopt : build_->find(resumeCursor)) {
            attachAt(*at + 1);
            return;
        }
    }
    startCatchUp(resumeCursor);
}

FollowStream::~FollowStream() {
    hub_.leave(*build_, attached_);
}

// Under the build's mutex.
void FollowStream::attachAt(std::uint64_t position) {
    position_ = position;
    attached_ = true;
    ++build_->attached;
    phase_ = Phase::Ring;
    own_.reset();  // a late follower's own journal is closed as soon as it meets the ring
}

void FollowStream::startCatchUp(const std::string& resumeCursor) {
    phase_ = Phase::CatchUp;
    try {
        own_ = std::make_unique<BuildLog>(build_->id, LogReadOptions{true, false});
        if (!resumeCursor.empty() && own_->seekAfter(resumeCursor)) {
            lastCursor_ = resumeCursor;
        }
    } catch (const std::exception& e) {
        LogLine line;
        line.notice = true;
        line.text = std::string("-- imagebuild: cannot read the journal: ") + e.what() + " --";
        write(line);
        finish("", e.what());
    }
}

bool FollowStream::clientGone() const {
    if (clientFd_ < 0) {
        return false;
    }
    pollfd p{clientFd_, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void FollowStream::write(const LogLine& line) {
    if (format_ == MonitorFormat::EventStream) {
        pending_ += sseLogLine(line.text, line.cursor);
    } else {
        pending_ += line.text;
        pending_ += '\n';
    }
    if (!line.cursor.empty()) {
        lastCursor_ = line.cursor;
    }
    wroteLine_ = wroteLine_ || !line.notice;
}

// The ring holds the line this follower sent last: go on from the ring.
bool FollowStream::tryAttach() {
    std::lock_guard lock(build_->mutex);
    if (lastCursor_.empty()) {
        if (build_->base != 0) {
            return false;
        }
        attachAt(0);
        return true;
    }
    auto at = build_->find(lastCursor_);
    if (!at) {
        return false;
    }
    attachAt(*at + 1);
    return true;
}

// Under the build's mutex, with a parking: unparked by the hub's next
// change of the build (or its next look at every client).
void FollowStream::parkLocked() {
    parking_->park();
    build_->waiting.push_back(parking_);
    parked_ = true;
}

// Nothing new since the last look: the client may have gone (then this
// follower ends), or a keep-alive is due. True if either.
bool FollowStream::lookAtClient() {
    if (clientGone()) {
        phase_ = Phase::Done;
        return true;
    }
    if (format_ == MonitorFormat::EventStream && Clock::now() - lastSent_ > kKeepAlive) {
        pending_ += sseComment("keep-alive");
        lastSent_ = Clock::now();
        return true;
    }
    return false;
}

// A late follower: the history from its own journal, a few lines at a
// time, until it meets the ring.
bool FollowStream::catchUp() {
    std::size_t n = 0;
    for (; n < kCatchUpLines; ++n) {
        auto line = own_->next();
        if (!line) {
            break;
        }
        write(*line);
    }
    if (own_->ended()) {
        // Its own reader reached the end mark: the same end the hub finds.
        auto state = own_->finalState();
        own_.reset();
        finish(state, "");
        return false;
    }
    if (tryAttach() || n > 0) {
        return false;
    }
    // At the journal's end and the ring does not hold the last line sent:
    // the hub has not read that far yet. Wait for it.
    std::unique_lock lock(build_->mutex);
    if (build_->ended) {
        // The hub ended without meeting this reader (the build ended
        // without a mark, or the ring moved on): end as it did.
        auto state = build_->endState;
        auto failure = build_->failure;
        lock.unlock();
        for (const auto& rest : own_->endWithoutMark(state)) {
            write(rest);
        }
        own_.reset();
        finish(state, failure);
        return false;
    }
    if (parking_) {
        if (!std::exchange(woken_, false)) {
            parkLocked();
            return true;
        }
        lock.unlock();  // woken: the hub read on, or it is time to look
        own_->refresh();
        if (clientGone()) {
            phase_ = Phase::Done;
        }
        return false;
    }
    auto end = build_->end();
    build_->changed.wait_for(lock, kLookAtClient,
                             [this, end] { return build_->end() != end || build_->ended; });
    lock.unlock();
    own_->refresh();
    if (clientGone()) {
        phase_ = Phase::Done;
    }
    return false;
}

bool FollowStream::stallToSay() const {
    return format_ == MonitorFormat::EventStream && !build_->info.finished() &&
           build_->info.stalled() != sentStalled_;
}

// Under the build's mutex: "stalled" and "unstalled", data {"stalled_since": usec}.
void FollowStream::sayStall() {
    sentStalled_ = build_->info.stalled();
    pending_ += sseEvent(fmt::format("{{\"stalled_since\":{}}}", build_->info.stalledSince), "",
                         sentStalled_ ? "stalled" : "unstalled");
}

void FollowStream::cut() {
    auto message = fmt::format(
        "this follower fell more than {} lines behind the log and was cut; follow again to go on "
        "(SSE: with Last-Event-ID)",
        hub_.limits().ringLines);
    if (format_ == MonitorFormat::EventStream) {
        pending_ += sseEvent(errorData("SlowFollower", message), "", "error");
    } else {
        pending_ += "-- imagebuild: " + message + " --\n";
    }
    phase_ = Phase::Done;
}

void FollowStream::finish(const std::string& endState, const std::string& failure) {
    phase_ = Phase::Done;
    if (!build_->peerUrl.empty()) {
        // The owner's end came with its bytes; a lost owner is said so.
        if (!failure.empty()) {
            pending_ += peerLostNotice(build_->peerUrl, contentTypeOf(format_), failure);
        }
        return;
    }
    if (!failure.empty()) {
        auto text = "-- imagebuild: cannot follow the journal: " + failure + " --";
        if (format_ == MonitorFormat::EventStream) {
            pending_ += sseEvent(text);
            pending_ += sseEvent(errorData("JournalUnavailable", failure), "", "error");
        } else {
            pending_ += text + "\n";
        }
        return;
    }
    if (format_ == MonitorFormat::EventStream) {
        pending_ += sseEvent(endState, "", "end");
    } else if (!wroteLine_) {
        BuildInfo ended = *textInfo_;
        ended.result = endState;
        pending_ += stateSentence(ended) + "\n";
    }
}

// Under the lock: lines from the ring into buffer; a line that does not
// fit whole goes on in pending_, so that the ring may drop it meanwhile.
long FollowStream::copyLines(std::unique_lock<std::mutex>& lock, char* buffer, std::size_t max) {
    auto& b = *build_;
    std::size_t n = 0;
    while (n < max && position_ < b.end()) {
        const RingLine& line = b.ring[position_ - b.base];
        const std::string& bytes = format_ == MonitorFormat::EventStream ? line.sse : line.text;
        std::size_t k = std::min(max - n, bytes.size());
        std::memcpy(buffer + n, bytes.data(), k);
        n += k;
        if (k < bytes.size()) {
            pending_.assign(bytes, k);
        }
        if (format_ == MonitorFormat::Text) {
            if (n < max && k == bytes.size()) {
                buffer[n++] = '\n';
            } else {
                pending_ += '\n';
            }
        }
        wroteLine_ = wroteLine_ || !line.notice;
        ++position_;
        if (!pending_.empty()) {
            break;
        }
    }
    b.fastest = std::max(b.fastest, position_);
    bool resume = b.paused && b.nearTheEnd(position_, hub_.limits());
    if (resume) {
        b.paused = false;
    }
    lock.unlock();
    if (resume) {
        hub_.wake();  // the reader waited for the fastest follower: us
    }
    lastSent_ = Clock::now();
    return static_cast<long>(n);
}

long FollowStream::readRing(char* buffer, std::size_t max) {
    auto& b = *build_;
    std::unique_lock lock(b.mutex);
    for (;;) {
        if (position_ < b.base) {
            lock.unlock();
            cut();
            return 0;
        }
        if (position_ < b.end()) {
            return copyLines(lock, buffer, max);
        }
        if (stallToSay()) {
            sayStall();
            return 0;
        }
        if (b.ended) {
            auto state = b.endState;
            auto failure = b.failure;
            lock.unlock();
            finish(state, failure);
            return 0;
        }
        if (parking_ && !std::exchange(woken_, false)) {
            parkLocked();
            return kParked;
        }
        if (!parking_) {
            bool woke = b.changed.wait_for(lock, kLookAtClient, [this, &b] {
                return position_ < b.base || position_ < b.end() || b.ended || stallToSay();
            });
            if (woke) {
                continue;
            }
        }
        lock.unlock();
        if (lookAtClient()) {
            return 0;
        }
        lock.lock();
    }
}

long FollowStream::read(char* buffer, std::size_t max) {
    // Unparked: the first time it finds nothing new, this follower looks at
    // its client instead of parking again.
    woken_ = std::exchange(parked_, false);
    for (;;) {
        if (pendingAt_ < pending_.size()) {
            std::size_t n = std::min(max, pending_.size() - pendingAt_);
            std::memcpy(buffer, pending_.data() + pendingAt_, n);
            pendingAt_ += n;
            return static_cast<long>(n);
        }
        pending_.clear();
        pendingAt_ = 0;
        if (pending_.capacity() > kKeepPending) {
            pending_.shrink_to_fit();
        }
        switch (phase_) {
            case Phase::CatchUp:
                if (catchUp()) {
                    return 0;
                }
                break;
            case Phase::Ring:
                if (long n = readRing(buffer, max); n > 0) {
                    return n;
                } else if (n == kParked) {
                    return 0;
                }
                break;
            case Phase::Done:
                return -1;
        }
    }
}

}  // namespace imagebuild::forwarder
