#include "forwarder/loop_answer.hpp"

#include <microhttpd.h>

#include <charconv>
#include <ctime>

#include "forwarder/request_head.hpp"

namespace imagebuild::forwarder {

namespace {

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

bool hasConnectionToken(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        auto comma = value.find(',');
        if (iequals(trimmed(value.substr(0, comma)), token)) {
            return true;
        }
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
    return false;
}

// "a=1&b" -> {a: 1, b: ""}; the target has no escapes to decode.
void splitQuery(std::string_view query, std::map<std::string, std::string>& out) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        if (!pair.empty()) {
            auto eq = pair.find('=');
            out[std::string(pair.substr(0, eq))] =
                eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
        }
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
}

}  // namespace

std::optional<LoopRequest> loopRequestOfHead(std::string_view head) {
    auto lineEnd = head.find('\n');
    auto line = trimmed(head.substr(0, lineEnd));
    auto firstSpace = line.find(' ');
    auto lastSpace = line.rfind(' ');
    if (firstSpace == std::string_view::npos || lastSpace == firstSpace) {
        return std::nullopt;
    }
    LoopRequest loop;
    Request& request = loop.request;
    request.method = std::string(line.substr(0, firstSpace));
    auto target = line.substr(firstSpace + 1, lastSpace - firstSpace - 1);
    auto version = line.substr(lastSpace + 1);
    bool http11 = version == "HTTP/1.1";
    if ((request.method != "GET" && request.method != "HEAD") ||
        (!http11 && version != "HTTP/1.0") || target.empty() || target.front() != '/' ||
        target.find_first_of("%+# ") != std::string_view::npos) {
        return std::nullopt;
    }
    auto question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
        splitQuery(target.substr(question + 1), request.query);
    }
    auto rest = head.substr(lineEnd + 1);
    while (!rest.empty()) {
        auto end = rest.find('\n');
        auto field = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        if (trimmed(field).empty()) {
            break;  // the empty line that ends the head
        }
        auto colon = field.find(':');
        if (colon == std::string_view::npos) {
            return std::nullopt;  // checkRequestHead refuses these; hand off all the same
        }
        auto name = headerKey(field.substr(0, colon));
        auto value = std::string(trimmed(field.substr(colon + 1)));
        if (name == "transfer-encoding" || (name == "content-length" && value != "0") ||
            name == "expect" || name == "upgrade") {
            return std::nullopt;  // a body, or more than one answer: libmicrohttpd's
        }
        ++loop.fields;
        request.headers.insert_or_assign(std::move(name), std::move(value));
    }
    auto connection = request.header("connection");
    loop.http10 = !http11;
    loop.keepAlive = http11 ? !hasConnectionToken(connection, "close")
                            : hasConnectionToken(connection, "keep-alive");
    return loop;
}

std::string loopAnswerBytes(const Response& response, bool headOnly, bool close,
                            std::string_view date) {
    // Appended piece by piece, not formatted: the loop makes one of these
    // for every health check, and a format string's parsing cost as much
    // as the rest of the answer.
    const char* reason = MHD_get_reason_phrase_for(response.status);
    char number[24];
    auto decimal = [&number](std::size_t value) {
        return std::string_view(number, std::to_chars(number, number + sizeof number, value).ptr);
    };
    std::string out;
    out.reserve(160 + (headOnly ? 0 : response.body.size()));
    out.append("HTTP/1.1 ").append(decimal(response.status)).append(" ");
    out.append(reason ? reason : "").append("\r\nDate: ").append(date);
    out.append("\r\nContent-Type: ").append(response.contentType).append("\r\n");
    for (const auto& [name, value] : response.headers) {
        out.append(name).append(": ").append(value).append("\r\n");
    }
    if (close) {
        out += "Connection: close\r\n";
    }
    out.append("Content-Length: ").append(decimal(response.body.size())).append("\r\n\r\n");
    if (!headOnly) {
        out += response.body;
    }
    return out;
}

std::string_view httpDateNow() {
    thread_local std::time_t made = 0;
    thread_local char text[64] = {};
    std::time_t now = std::time(nullptr);
    if (now != made) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        made = now;
    }
    return text;
}

}  // namespace imagebuild::forwarder
