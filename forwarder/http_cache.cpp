#include "forwarder/http_cache.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <string_view>

namespace imagebuild::forwarder {

std::string etagOfBody(const std::string& body) {
    // Tells versions of one resource apart, nothing more: a 64-bit hash and
    // the length. No SHA-256 on every answer (and no libcrypto initialised
    // by a forwarder that only serves reads).
    // Written by hand, not formatted: every answer of ours with a body
    // carries one. The hash as 16 hex digits, zero-padded; the length in hex.
    constexpr char kHex[] = "0123456789abcdef";
    char text[48];
    text[0] = '"';
    auto hash = std::hash<std::string_view>{}(body);
    for (int i = 16; i >= 1; --i, hash >>= 4) {
        text[i] = kHex[hash & 15];
    }
    text[17] = '-';
    char* end = std::to_chars(text + 18, text + sizeof text - 1, body.size(), 16).ptr;
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
