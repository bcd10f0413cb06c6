// Requests and answers for the forwarder tests: a GET as the dispatcher
// receives it, a header of an answer, and an error answer's shape.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
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

// Our JSON error shape: the status, the error name and a message.
inline void expectError(const Response& r, unsigned status, const std::string& name) {
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.contentType, "application/json");
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["error"], name) << r.body;
    EXPECT_TRUE(body["message"].is_string() && !body["message"].get<std::string>().empty());
}

}  // namespace imagebuild::testing
