#include "forwarder/http_types.hpp"

#include <algorithm>

namespace imagebuild::forwarder {

std::string headerKey(std::string_view name) {
    std::string key(name);
    for (auto& c : key) {
        c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return key;
}

const std::string& Request::header(std::string_view name) const {
    static const std::string absent;
    // Callers name headers in lower case: then no key is made to look.
    bool lower =
        std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    auto it = lower ? headers.find(name) : headers.find(headerKey(name));
    return it == headers.end() ? absent : it->second;
}

std::string Request::queryValue(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
}

}  // namespace imagebuild::forwarder
