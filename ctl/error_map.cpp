#include "ctl/error_map.hpp"

#include <fmt/format.h>

#include "common/error_table.hpp"
#include "common/exit_codes.hpp"

namespace imagebuild::ctl {

namespace {

std::string join(std::string_view sentence, const std::string& message) {
    return message.empty() ? std::string(sentence) : fmt::format("{}: {}", sentence, message);
}

// What an HTTP status says when the body names no error of the table: the
// forwarder's own refusals (tokens, routes, peers).
MappedError byStatus(int status, const std::string& detail, const std::string& url) {
    switch (status) {
        case 400:
        case 413:
        case 422:
            return {kExitUsage, join("The forwarder refused the request", detail)};
        case 401:
            return {
                kExitAccessDenied,
                join("The forwarder wants a token (--token-file or $IMAGEBUILD_TOKEN)", detail)};
        case 403:
            return {kExitAccessDenied, join("Access denied", detail)};
        case 404:
            return {kExitNotFound, join("Not found", detail)};
        case 409:
            return {kExitFailure, join("Conflict", detail)};
        case 503:
            return {kExitUnreachable,
                    join(fmt::format("The build host behind {} is not reachable", url), detail)};
        default:
            return {kExitFailure,
                    join(fmt::format("The forwarder at {} answered HTTP {}", url, status), detail)};
    }
}

}  // namespace

MappedError mapDbusError(const std::string& name, const std::string& message) {
    if (const auto* row = errorByDbusName(name)) {
        return {row->exitCode, join(row->sentence, message)};
    }
    // sdbus-c++ reports a failed bus connection as its own error name.
    if (name.rfind("org.sdbuscpp.", 0) == 0 && (message.find("bus") != std::string::npos ||
                                                message.find("connect") != std::string::npos)) {
        return {kExitUnreachable, join("Cannot connect to the system bus", message)};
    }
    return {kExitFailure, fmt::format("The imagebuild agent failed ({}){}", name,
                                      message.empty() ? std::string() : ": " + message)};
}

MappedError mapHttpError(int status, const std::string& errorName, const std::string& message,
                         const std::string& url) {
    auto detail = message.empty() ? errorName : message;
    auto mapped = byStatus(status, detail, url);
    // A name of the table decides the exit code, as it would have on the bus;
    // the status's sentence stays unless it would say something else.
    if (const auto* row = errorByHttpName(errorName); row && row->exitCode != mapped.exitCode) {
        return {row->exitCode, join(row->sentence, message)};
    }
    return mapped;
}

}  // namespace imagebuild::ctl
