// The messages of imagebuild's one HTTP client (http_client.hpp): the
// request as it goes on the wire, and an answer read by Boost.Beast's parser
// as callers get it. HttpClient and HttpLoopClient (http_loop_client.hpp)
// both use them, so that a request is the same bytes whichever sends it.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "common/http_client.hpp"

namespace imagebuild {

// The client's own fields first (Host, User-Agent, the bearer token), then
// the caller's, which replace them: a user's Authorization wins over the
// token; a body with its Content-Length (and Content-Type if given).
std::string httpRequestBytes(const HttpRequest& request, const HttpUrl& url,
                             const HttpClientOptions& options, bool keepAlive);

// Status, reason, Content-Type and every other field of an answer's head,
// whatever allocator its fields were read with.
template <class Fields>
void copyResponseHead(const boost::beast::http::header<false, Fields>& head, HttpResponse& out) {
    out.status = head.result_int();
    out.reason = std::string(head.reason());
    out.headers.reserve(8);
    for (const auto& field : head) {
        if (field.name() == boost::beast::http::field::content_type) {
            out.contentType = std::string(field.value());
        } else {
            out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
    }
}

// A whole answer read into a string: its head, and the body moved out.
template <class Fields>
HttpResponse responseOf(
    boost::beast::http::message<false, boost::beast::http::string_body, Fields>& message) {
    HttpResponse out;
    copyResponseHead(message.base(), out);
    out.body = std::move(message.body());
    out.contentLength = out.body.size();
    return out;
}

}  // namespace imagebuild
