// Requests and answers for the forwarder tests: a GET as the dispatcher
// receives it, and a header of an answer.
#pragma once

#include <map>
#include <string>

#include "forwarder/http_types.hpp"

namespace imagebuild::testing {

using forwarder::Request;
using forwarder::Response;

inline Request get(const std::string& path, std::map<std::string, std::string> query = {}) {
    Request r;
    r.method = "GET";
    r.path = path;
    r.query = std::move(query);
    return r;
}

inline std::string headerOf(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) {
            return v;
        }
    }
    return "";
}

}  // namespace imagebuild::testing
