// The body of /monitor/<id>, produced piece by piece from the journal so that
// a 100,000-line log streams in constant memory and a followed build streams
// until it ends. The lines and where the log ends are common/build_log.hpp's:
// every line up to the build's end mark, with notices of lines lost; text
// as the build wrote the bytes, HTML and SSE escaped (escapeLogText).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/build_info.hpp"
#include "common/build_log.hpp"
#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

enum class MonitorFormat { Text, Html, EventStream };

// ?format=text|html|sse wins; else Accept: text/event-stream, then text/html;
// else text (curl).
MonitorFormat chooseMonitorFormat(const Request& request);
const char* contentTypeOf(MonitorFormat format);

class MonitorStream {
public:
    using Refresh = std::function<BuildInfo()>;  // the build's current state

    MonitorStream(BuildInfo build, Refresh refresh, MonitorFormat format, bool follow,
                  const std::string& resumeCursor, int clientFd);

    // Appends the next piece to `out`; false once everything has been produced.
    bool produce(std::string& out);

private:
    enum class Phase { Start, Lines, End, Done };

    bool produceLines(std::string& out);
    bool readLines(std::string& out);
    void write(const LogLine& line, std::string& out);
    std::optional<std::string> finalState();
    bool clientGone() const;
    void finish(std::string& out);
    void noteStall(bool newLines, std::string& out);

    BuildInfo build_;
    Refresh refresh_;
    MonitorFormat format_;
    bool follow_;
    int clientFd_;
    BuildLog log_;
    LogFollower follower_;
    std::vector<LogLine> batch_;
    std::string endState_;  // the final state the log's end names
    Phase phase_ = Phase::Start;
    bool wroteLine_ = false;
    bool sentStalled_ = false;  // the last stall event said "stalled"
    std::string lastCursor_;
    std::chrono::steady_clock::time_point lastSent_ = std::chrono::steady_clock::now();
};

// Adapts a producer to libmicrohttpd's pull: buffers one piece at a time.
BodyStream bodyStreamOf(std::shared_ptr<MonitorStream> stream);

}  // namespace imagebuild::forwarder
