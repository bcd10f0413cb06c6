#include "forwarder/json_error.hpp"

#include <nlohmann/json.hpp>

namespace imagebuild::forwarder {

Response jsonError(unsigned status, const std::string& name, const std::string& message) {
    nlohmann::json body{{"error", name}, {"message", message}};
    // replace: a message quoting bad input must not make dump() throw.
    return jsonResponse(status,
                        body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string errorSummary(const Response& response) {
    if (response.contentType != "application/json" || response.stream || response.file) {
        return "";
    }
    auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) {
        return "";
    }
    auto summary = body["error"].get<std::string>();
    if (auto message = body.find("message"); message != body.end() && message->is_string()) {
        summary += ": " + message->get<std::string>();
    }
    return summary;
}

Response jsonResponse(unsigned status, const std::string& body) {
    Response response;
    response.status = status;
    response.contentType = "application/json";
    response.body = body;
    response.body += '\n';
    return response;
}

std::string errorNameForStatus(unsigned status) {
    switch (status) {
        case 400:
            return "BadRequest";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "NotFound";
        case 405:
            return "MethodNotAllowed";
        case 409:
            return "Conflict";
        case 413:
            return "PayloadTooLarge";
        case 416:
            return "RangeNotSatisfiable";
        case 422:
            return "Unsupported";
        case 502:
            return "BadGateway";
        case 503:
            return "Unavailable";
        case 504:
            return "GatewayTimeout";
        default:
            return status >= 500 ? "Internal" : "Error";
    }
}

}  // namespace imagebuild::forwarder
