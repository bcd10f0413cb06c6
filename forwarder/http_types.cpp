#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

std::string Request::header(std::string_view name) const {
    std::string key(name);
    for (auto& c : key) {  // header names are ASCII: no locale
        c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    auto it = headers.find(key);
    return it == headers.end() ? std::string() : it->second;
}

std::string Request::queryValue(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
}

}  // namespace imagebuild::forwarder
