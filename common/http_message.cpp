#include "common/http_message.hpp"

#include <boost/beast/core/string.hpp>
#include <string_view>
#include <utility>
#include <vector>

namespace imagebuild {

namespace http = boost::beast::http;

// Built by hand, as Beast would write the same http::request: a field set
// again replaces the earlier one and goes last (basic_fields::set), 1.1
// keeps the connection unless told "close", a body gets its Content-Length
// (prepare_payload). Beast's serializer through an ostream cost a relayed
// request more than the rest of its request building; the unit test holds
// these bytes to Beast's.
std::string httpRequestBytes(const HttpRequest& request, const HttpUrl& url,
                             const HttpClientOptions& options, bool keepAlive) {
    std::vector<std::pair<std::string_view, std::string>> fields;
    auto set = [&fields](std::string_view name, std::string value) {
        std::erase_if(fields, [name](const auto& field) {
            return boost::beast::iequals(
                boost::beast::string_view(field.first.data(), field.first.size()),
                boost::beast::string_view(name.data(), name.size()));
        });
        fields.emplace_back(name, std::move(value));
    };
    set("Host", url.hostHeader());
    set("User-Agent", options.userAgent);
    if (!keepAlive) {
        set("Connection", "close");
    }
    if (!options.bearerToken.empty()) {
        set("Authorization", "Bearer " + options.bearerToken);
    }
    for (const auto& [name, value] : request.headers) {
        set(name, value);
    }
    bool hasBody = !request.body.empty() || request.method == "POST" || request.method == "PUT";
    if (hasBody) {
        if (!request.contentType.empty()) {
            set("Content-Type", request.contentType);
        }
        set("Content-Length", std::to_string(request.body.size()));
    }
    std::string out;
    out.reserve(256 + request.target.size() + (hasBody ? request.body.size() : 0));
    out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
    for (const auto& [name, value] : fields) {
        out.append(name).append(": ").append(value).append("\r\n");
    }
    out += "\r\n";
    if (hasBody) {
        out += request.body;
    }
    return out;
}

}  // namespace imagebuild
