#include "forwarder/http_types.hpp"

#include <algorithm>
#include <cctype>

namespace imagebuild::forwarder {

std::string Request::header(std::string_view name) const {
    std::string key(name);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto it = headers.find(key);
    return it == headers.end() ? std::string() : it->second;
}

std::string Request::queryValue(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
}

}  // namespace imagebuild::forwarder
