#include "forwarder/monitor_stream.hpp"

#include <fmt/format.h>

#include <cstring>

#include "forwarder/html.hpp"
#include "forwarder/sse.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr std::size_t kBatch = 512;

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

bool followsLog(const Request& request, MonitorFormat format) {
    bool follow = format == MonitorFormat::EventStream || request.queryValue("follow") == "1";
    return follow && format != MonitorFormat::Html;
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

MonitorStream::MonitorStream(BuildInfo build, MonitorFormat format, const std::string& resumeCursor)
    : build_(std::move(build)),
      format_(format),
      // SSE ids and the HTML page's resume point are line cursors: resuming
      // after the last line (not after the end mark) still reaches the mark.
      log_(build_.id, {format != MonitorFormat::Text, false}) {
    if (!resumeCursor.empty()) {
        log_.seekAfter(resumeCursor);
        lastCursor_ = resumeCursor;
    }
}

void MonitorStream::write(const LogLine& line, std::string& out) {
    switch (format_) {
        case MonitorFormat::EventStream:
            // Every event carries its line's cursor (Last-Event-ID); a
            // notice has none of its own.
            out += sseLogLine(line.text, line.cursor);
            if (!line.cursor.empty()) {
                lastCursor_ = line.cursor;
            }
            break;
        case MonitorFormat::Html:
            out += htmlEscape(escapeLogText(line.text));
            out += '\n';
            if (!line.cursor.empty()) {
                lastCursor_ = line.cursor;
            }
            break;
        case MonitorFormat::Text:
            out += line.text;
            out += '\n';
            break;
    }
    wroteLine_ = wroteLine_ || !line.notice;
}

// The lines the journal holds now, up to the end mark.
bool MonitorStream::readLines(std::string& out) {
    std::size_t n = 0;
    for (; n < kBatch; ++n) {
        auto line = log_.next();
        if (!line) {
            break;
        }
        write(*line, out);
    }
    return n > 0;
}

void MonitorStream::finish(std::string& out) {
    auto state = log_.ended()            ? log_.finalState()
                 : build_.result.empty() ? build_.state
                                         : build_.result;
    switch (format_) {
        case MonitorFormat::EventStream:
            out += sseEvent(state, "", "end");
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
            if (!readLines(out)) {
                phase_ = Phase::End;
            }
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
