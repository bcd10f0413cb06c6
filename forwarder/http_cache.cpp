#include "forwarder/http_cache.hpp"

#include <algorithm>

#include "common/sha256.hpp"

namespace imagebuild::forwarder {

std::string etagOfBody(const std::string& body) {
    return "\"" + sha256Hex(body).substr(0, 32) + "\"";
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
