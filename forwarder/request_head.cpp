#include "forwarder/request_head.hpp"

#include <fmt/format.h>

#include <strings.h>
#include <algorithm>

namespace imagebuild::forwarder {

namespace {

// RFC 9110 tchar: what a method or a field name is made of.
bool isTokenChar(char c) {
    static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

// What may be quoted in a message: printable ASCII, at most 60 bytes.
std::string quoted(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, 60)) {
        out += c >= 0x20 && c < 0x7f ? c : '?';
    }
    return text.size() > 60 ? out + "..." : out;
}

HeadProblem bad(std::string message) {
    return {400, "BadRequest", std::move(message)};
}

// The head's lines without their line ends (the empty last one excluded),
// leading empty lines skipped as RFC 9112 allows.
class Lines {
public:
    explicit Lines(std::string_view head) : rest_(head) {
        while (rest_.starts_with("\r\n") || rest_.starts_with("\n")) {
            rest_.remove_prefix(rest_[0] == '\r' ? 2 : 1);
        }
    }
    std::optional<std::string_view> next() {
        auto nl = rest_.find('\n');
        if (nl == std::string_view::npos) {
            return std::nullopt;
        }
        auto line = rest_.substr(0, nl);
        rest_.remove_prefix(nl + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            return std::nullopt;
        }
        return line;
    }

private:
    std::string_view rest_;
};

std::optional<HeadProblem> checkTarget(std::string_view target, const HeadLimits& limits) {
    if (target.size() > limits.maxTargetBytes) {
        return HeadProblem{414, "UriTooLong",
                           fmt::format("the request target is {} bytes, more than {}",
                                       target.size(), limits.maxTargetBytes)};
    }
    if (target.empty() || target.front() != '/') {
        return bad(fmt::format("the request target '{}' must be a path starting with '/'",
                               quoted(target)));
    }
    for (char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return bad("the request target holds a control character or a space");
        }
    }
    auto query = target.find('?');
    for (std::size_t at = target.find('%'); at != std::string_view::npos;
         at = target.find('%', at + 1)) {
        if (target.substr(at + 1, 2) == "00") {
            return bad(fmt::format("the URL {} holds %00 (a NUL character): '{}'",
                                   at < query ? "path" : "query", quoted(target)));
        }
    }
    return std::nullopt;
}

std::optional<HeadProblem> checkRequestLine(std::string_view line, const HeadLimits& limits) {
    auto sp1 = line.find(' ');
    auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2) {
        return bad(
            fmt::format("the request line '{}' is not 'METHOD TARGET HTTP/1.1'", quoted(line)));
    }
    auto method = line.substr(0, sp1);
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto version = line.substr(sp2 + 1);
    if (!isToken(method)) {
        return bad(fmt::format("the method '{}' is not a token", quoted(method)));
    }
    if (auto problem = checkTarget(target, limits)) {
        return problem;
    }
    if (version == "HTTP/1.1" || version == "HTTP/1.0") {
        return std::nullopt;
    }
    if (version.starts_with("HTTP/")) {
        return HeadProblem{
            505, "HttpVersionNotSupported",
            fmt::format("{} is not supported (HTTP/1.1 or HTTP/1.0)", quoted(version))};
    }
    return bad(fmt::format("'{}' is not an HTTP version", quoted(version)));
}

struct Framing {
    std::optional<std::string_view> contentLength;
    bool transferEncoding = false;
    bool host = false;
};

std::optional<HeadProblem> checkField(std::string_view line, Framing& framing) {
    if (line.front() == ' ' || line.front() == '\t') {
        return bad("a header field is folded over two lines (obsolete line folding)");
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
        return bad(fmt::format("the header line '{}' is not 'Name: value'", quoted(line)));
    }
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    for (char c : value) {
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
            return bad(
                fmt::format("the header field '{}' holds a control character", quoted(name)));
        }
    }
    if (iequals(name, "content-length")) {
        if (framing.contentLength) {
            return bad(fmt::format("Content-Length is given twice ('{}' and '{}')",
                                   quoted(*framing.contentLength), quoted(value)));
        }
        if (value.empty() || value.size() > 19 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return bad(fmt::format("Content-Length '{}' is not a number of bytes", quoted(value)));
        }
        framing.contentLength = value;
    } else if (iequals(name, "transfer-encoding")) {
        if (framing.transferEncoding) {
            return bad("Transfer-Encoding is given twice");
        }
        framing.transferEncoding = true;
    } else if (iequals(name, "host")) {
        if (framing.host) {
            return bad("Host is given twice");
        }
        framing.host = true;
    }
    return std::nullopt;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::size_t headLength(std::string_view data) {
    std::size_t start = 0;
    while (data.substr(start).starts_with("\r\n") || data.substr(start).starts_with("\n")) {
        start += data[start] == '\r' ? 2 : 1;
    }
    for (auto nl = data.find('\n', start); nl != std::string_view::npos;
         nl = data.find('\n', nl + 1)) {
        auto after = data.substr(nl + 1);
        if (after.starts_with("\n")) {
            return nl + 2;
        }
        if (after.starts_with("\r\n")) {
            return nl + 3;
        }
    }
    return 0;
}

std::optional<HeadProblem> checkPartialHead(std::string_view data, const HeadLimits& limits) {
    auto firstLine = data.find('\n');
    // The method and the version take a few bytes beside the target.
    constexpr std::size_t kLineSlack = 64;
    if (firstLine == std::string_view::npos && data.size() > limits.maxTargetBytes + kLineSlack) {
        return HeadProblem{414, "UriTooLong",
                           fmt::format("the request line is longer than the {} bytes a target "
                                       "may take",
                                       limits.maxTargetBytes)};
    }
    if (data.size() >= limits.maxHeadBytes) {
        return HeadProblem{
            431, "HeadersTooLarge",
            fmt::format("the request head is larger than {} bytes", limits.maxHeadBytes)};
    }
    return std::nullopt;
}

std::optional<HeadProblem> checkRequestHead(std::string_view head, const HeadLimits& limits) {
    if (head.size() > limits.maxHeadBytes) {
        return HeadProblem{431, "HeadersTooLarge",
                           fmt::format("the request head is {} bytes, more than {}", head.size(),
                                       limits.maxHeadBytes)};
    }
    if (head.find('\0') != std::string_view::npos) {
        return bad("the request head holds a NUL byte");
    }
    Lines lines(head);
    auto requestLine = lines.next();
    if (!requestLine) {
        return bad("the request has no request line");
    }
    if (auto problem = checkRequestLine(*requestLine, limits)) {
        return problem;
    }
    bool http11 = requestLine->ends_with("HTTP/1.1");
    Framing framing;
    std::size_t fields = 0;
    while (auto line = lines.next()) {
        if (++fields > limits.maxHeaderFields) {
            return HeadProblem{
                431, "HeadersTooLarge",
                fmt::format("the request has more than {} header fields", limits.maxHeaderFields)};
        }
        if (auto problem = checkField(*line, framing)) {
            return problem;
        }
    }
    if (framing.contentLength && framing.transferEncoding) {
        return bad("Content-Length and Transfer-Encoding are both given; send one");
    }
    if (framing.transferEncoding) {
        // A chunked body's framing is decoded inside libmicrohttpd, which
        // answers a malformed one with its own HTML, and its length on the
        // wire cannot be counted (hand_back.hpp): no body of ours needs it.
        return HeadProblem{411, "LengthRequired",
                           "a request body needs a Content-Length; Transfer-Encoding "
                           "(a chunked body) is not accepted"};
    }
    if (http11 && !framing.host) {
        return bad("an HTTP/1.1 request needs a Host header");
    }
    return std::nullopt;
}

}  // namespace imagebuild::forwarder
