// The body of /monitor/<id> without follow, produced piece by piece from the
// journal so that a 100,000-line log streams in constant memory. (Followers
// share the hub's reader: follow_hub.hpp.) The lines and where the log ends are
// common/build_log.hpp's: every line up to the build's end mark, with notices of lines lost; text
// as the build wrote the bytes, HTML and SSE escaped (escapeLogText).
#pragma once

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
// Whether the request follows the build's log until it ends: ?follow=1 as
// text, or SSE (Accept: text/event-stream or ?format=sse). HTML never: the
// page follows with an EventSource of its own.
bool followsLog(const Request& request, MonitorFormat format);
const char* contentTypeOf(MonitorFormat format);

class MonitorStream {
public:
    MonitorStream(BuildInfo build, MonitorFormat format, const std::string& resumeCursor);

    // Appends the next piece to `out`; false once everything has been produced.
    bool produce(std::string& out);

private:
    enum class Phase { Start, Lines, End, Done };

    bool readLines(std::string& out);
    void write(const LogLine& line, std::string& out);
    void finish(std::string& out);

    BuildInfo build_;
    MonitorFormat format_;
    BuildLog log_;
    Phase phase_ = Phase::Start;
    bool wroteLine_ = false;
    std::string lastCursor_;
};

// Adapts a producer to libmicrohttpd's pull: buffers one piece at a time.
BodyStream bodyStreamOf(std::shared_ptr<MonitorStream> stream);

}  // namespace imagebuild::forwarder
