// Server-Sent Events framing (text/event-stream). Each journal line is one
// event whose id is the journal cursor; a reconnecting client sends it back as
// Last-Event-ID and continues exactly after it.
#pragma once

#include <string>
#include <string_view>

namespace imagebuild::forwarder {

// "id: <id>\n" (if any) "event: <event>\n" (if any), one "data: " line per
// line of `data` (CR dropped, as a CR would end the field), then a blank line.
std::string sseEvent(const std::string& data, const std::string& id = "",
                     const std::string& event = "");
// A journal line as its event: the text escaped as the log is
// (escapeLogText), the line's cursor as its id. Every reader of a log writes
// its lines so, so that a client may resume with any of them.
std::string sseLogLine(std::string_view text, const std::string& cursor);
// What a client reads when the peer relaying a stream to it is lost in the
// middle: an SSE `error` event {"error":"PeerLost","host":...}, or a last
// line for a text log (after a newline that ends a line cut short), so
// that nobody takes a cut stream for a complete one; nothing for a file.
std::string peerLostNotice(const std::string& url, const std::string& contentType,
                           const std::string& what);
// A comment line that keeps idle connections (and proxies) open.
std::string sseComment(const std::string& text);

}  // namespace imagebuild::forwarder
