#include "forwarder/http_cache.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <functional>
#include <string_view>

namespace imagebuild::forwarder {

std::string etagOfBody(const std::string& body) {
    // Tells versions of one resource apart, nothing more: a 64-bit hash and
    // the length. No SHA-256 on every answer (and no libcrypto initialised
    // by a forwarder that only serves reads).
    // Written with to_chars: every answer of ours with a body carries one.
    char text[48] = "\"0000000000000000";
    auto hash = std::hash<std::string_view>{}(body);
    auto digits = std::to_chars(text + 17, text + sizeof text, hash, 16).ptr - (text + 17);
    // right-aligned in the 16 zeros after the quote
    std::memmove(text + 1 + 16 - digits, text + 17, static_cast<std::size_t>(digits));
    char* end = text + 17;
    *end++ = '-';
    end = std::to_chars(end, text + sizeof text - 1, body.size(), 16).ptr;
    *end++ = '"';
    return std::string(text, end);
}

bool etagMatches(const std::string& ifNoneMatch, const std::string& etag) {
    if (ifNoneMatch.empty()) {
        return false;
    }
    if (ifNoneMatch.find('*') != std::string::npos) {
        return true;
    }
    return ifNoneMatch.find(etag) != std::string::npos;
}

void applyConditionalGet(const Request& request, Response& response) {
    if ((request.method != "GET" && request.method != "HEAD") || response.status != 200 ||
        response.stream || response.file || response.body.empty()) {
        return;
    }
    bool tagged = std::any_of(response.headers.begin(), response.headers.end(),
                              [](const auto& h) { return h.first == "ETag"; });
    if (tagged) {
        return;
    }
    auto etag = etagOfBody(response.body);
    response.headers.emplace_back("ETag", etag);
    if (etagMatches(request.header("if-none-match"), etag)) {
        response.status = 304;
        response.body.clear();
    }
}

}  // namespace imagebuild::forwarder
