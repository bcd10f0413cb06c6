#include "common/http_message.hpp"

#include <boost/beast/http/write.hpp>
#include <sstream>

namespace imagebuild {

namespace http = boost::beast::http;

http::request<http::string_body> beastRequest(const HttpRequest& r, const HttpUrl& url,
                                              const HttpClientOptions& options, bool keepAlive) {
    http::request<http::string_body> req;
    req.method_string(r.method);
    req.target(r.target);
    req.version(11);
    req.set(http::field::host, url.hostHeader());
    req.set(http::field::user_agent, options.userAgent);
    req.keep_alive(keepAlive);
    if (!options.bearerToken.empty()) {
        req.set(http::field::authorization, "Bearer " + options.bearerToken);
    }
    for (const auto& [name, value] : r.headers) {
        req.set(name, value);
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
        if (!r.contentType.empty()) {
            req.set(http::field::content_type, r.contentType);
        }
        req.body() = r.body;
        req.prepare_payload();
    }
    return req;
}

std::string httpRequestBytes(const HttpRequest& request, const HttpUrl& url,
                             const HttpClientOptions& options, bool keepAlive) {
    std::ostringstream out;
    out << beastRequest(request, url, options, keepAlive);
    return std::move(out).str();
}

void copyResponseHead(const http::response_header<>& head, HttpResponse& out) {
    out.status = head.result_int();
    out.reason = std::string(head.reason());
    for (const auto& field : head) {
        if (field.name() == http::field::content_type) {
            out.contentType = std::string(field.value());
        } else {
            out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
    }
}

HttpResponse responseOf(http::response<http::string_body>& message) {
    HttpResponse out;
    copyResponseHead(message, out);
    out.body = std::move(message.body());
    out.contentLength = out.body.size();
    return out;
}

}  // namespace imagebuild
