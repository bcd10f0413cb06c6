#include "forwarder/monitor_stream.hpp"

#include <poll.h>

#include <cstring>

#include "forwarder/html.hpp"
#include "forwarder/sse.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr int kBatch = 512;
constexpr auto kPoll = std::chrono::milliseconds(1000);
// Journald may store a build's last lines just after the unit ended.
constexpr auto kDrainGrace = std::chrono::milliseconds(500);
constexpr auto kKeepAlive = std::chrono::seconds(15);

}  // namespace

MonitorFormat chooseMonitorFormat(const Request& request) {
    auto format = request.queryValue("format");
    if (format == "text") {
        return MonitorFormat::Text;
    }
    if (format == "html") {
        return MonitorFormat::Html;
    }
    if (format == "sse") {
        return MonitorFormat::EventStream;
    }
    auto accept = request.header("accept");
    if (accept.find("text/event-stream") != std::string::npos) {
        return MonitorFormat::EventStream;
    }
    if (accept.find("text/html") != std::string::npos) {
        return MonitorFormat::Html;
    }
    return MonitorFormat::Text;
}

const char* contentTypeOf(MonitorFormat format) {
    switch (format) {
        case MonitorFormat::Html:
            return "text/html; charset=utf-8";
        case MonitorFormat::EventStream:
            return "text/event-stream";
        case MonitorFormat::Text:
            break;
    }
    return "text/plain; charset=utf-8";
}

MonitorStream::MonitorStream(BuildInfo build, Refresh refresh, MonitorFormat format, bool follow,
                             const std::string& resumeCursor, int clientFd)
    : build_(std::move(build)),
      refresh_(std::move(refresh)),
      format_(format),
      follow_(follow && format != MonitorFormat::Html),
      clientFd_(clientFd),
      journal_(build_.id) {
    if (!resumeCursor.empty()) {
        journal_.seekAfter(resumeCursor);
        lastCursor_ = resumeCursor;
    }
}

bool MonitorStream::clientGone() const {
    if (clientFd_ < 0) {
        return false;
    }
    pollfd p{clientFd_, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool MonitorStream::readLines(std::string& out) {
    int n = 0;
    if (format_ == MonitorFormat::EventStream) {
        // Every event carries its line's cursor (Last-Event-ID).
        for (; n < kBatch; ++n) {
            auto entry = journal_.next();
            if (!entry) {
                break;
            }
            out += sseEvent(entry->message, entry->cursor);
            lastCursor_ = std::move(entry->cursor);
        }
    } else {
        // Text and HTML read MESSAGE only, like `journalctl -o cat`; the
        // cursor of the batch's last line is enough (the page's resume point).
        std::string message;
        for (; n < kBatch && journal_.nextMessage(message); ++n) {
            if (format_ == MonitorFormat::Html) {
                out += htmlEscape(message);
            } else {
                out += message;
            }
            out += '\n';
        }
        if (n > 0 && format_ == MonitorFormat::Html) {
            lastCursor_ = journal_.cursor();
        }
    }
    if (n == 0) {
        return false;
    }
    wroteLine_ = true;
    lastSent_ = std::chrono::steady_clock::now();
    return true;
}

void MonitorStream::finish(std::string& out) {
    switch (format_) {
        case MonitorFormat::EventStream:
            out += sseEvent(build_.result.empty() ? build_.state : build_.result, "", "end");
            break;
        case MonitorFormat::Html:
            out += monitorPageTail(build_, lastCursor_, !wroteLine_);
            break;
        case MonitorFormat::Text:
            if (!wroteLine_) {
                out += stateSentence(build_) + "\n";
            }
            break;
    }
}

bool MonitorStream::produce(std::string& out) {
    switch (phase_) {
        case Phase::Start:
            if (format_ == MonitorFormat::Html) {
                out += monitorPageHead(build_);
            } else if (format_ == MonitorFormat::EventStream) {
                out += sseEvent(build_.state, "", "state");
            }
            phase_ = Phase::Lines;
            return true;
        case Phase::Lines:
            while (!readLines(out)) {
                if (!follow_ || build_.finished()) {
                    phase_ = follow_ ? Phase::Drain : Phase::End;
                    return true;
                }
                if (clientGone()) {
                    phase_ = Phase::Done;
                    return false;
                }
                journal_.wait(kPoll);
                if (!readLines(out)) {
                    build_ = refresh_();
                }
                if (!out.empty()) {
                    return true;
                }
                if (format_ == MonitorFormat::EventStream &&
                    std::chrono::steady_clock::now() - lastSent_ > kKeepAlive) {
                    out += sseComment("keep-alive");
                    lastSent_ = std::chrono::steady_clock::now();
                    return true;
                }
            }
            return true;
        case Phase::Drain:
            journal_.wait(kDrainGrace);
            while (readLines(out)) {
            }
            phase_ = Phase::End;
            return true;
        case Phase::End:
            finish(out);
            phase_ = Phase::Done;
            return true;
        case Phase::Done:
            break;
    }
    return false;
}

BodyStream bodyStreamOf(std::shared_ptr<MonitorStream> stream) {
    auto pending = std::make_shared<std::string>();
    auto offset = std::make_shared<std::size_t>(0);
    return [stream, pending, offset](char* buffer, std::size_t max) -> long {
        while (*offset == pending->size()) {
            pending->clear();
            *offset = 0;
            if (!stream->produce(*pending) && pending->empty()) {
                return -1;
            }
        }
        std::size_t n = std::min(max, pending->size() - *offset);
        std::memcpy(buffer, pending->data() + *offset, n);
        *offset += n;
        return static_cast<long>(n);
    };
}

}  // namespace imagebuild::forwarder
