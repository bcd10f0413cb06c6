#include "forwarder/sse.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/build_log.hpp"

namespace imagebuild::forwarder {

namespace {

std::string oneLine(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c != '\n' && c != '\r') {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string sseEvent(const std::string& data, const std::string& id, const std::string& event) {
    std::string out;
    if (!id.empty()) {
        out += "id: " + oneLine(id) + "\n";
    }
    if (!event.empty()) {
        out += "event: " + oneLine(event) + "\n";
    }
    std::string line;
    for (char c : data) {
        if (c == '\n') {
            out += "data: " + line + "\n";
            line.clear();
        } else if (c != '\r') {
            line += c;
        }
    }
    out += "data: " + line + "\n\n";
    return out;
}

std::string peerLostNotice(const std::string& url, const std::string& contentType,
                           const std::string& what) {
    auto message = fmt::format("lost host {} in the middle of the stream: {}", url, what);
    if (contentType.starts_with("text/event-stream")) {
        nlohmann::json data{{"error", "PeerLost"}, {"host", url}, {"message", message}};
        return "\n" + sseEvent(data.dump(), "", "error");
    }
    if (contentType.starts_with("text/plain")) {
        return "\nimagebuild: " + message + "\n";
    }
    return {};
}

std::string sseComment(const std::string& text) {
    return ": " + oneLine(text) + "\n\n";
}

std::string sseLogLine(std::string_view text, const std::string& cursor) {
    return sseEvent(escapeLogText(text), cursor);
}

}  // namespace imagebuild::forwarder
