#include "forwarder/http_types.hpp"

#include <algorithm>

namespace imagebuild::forwarder {

const std::string& Request::header(std::string_view name) const {
    static const std::string absent;
    // Callers name headers in lower case; a name that is not is lowered
    // (header names are ASCII: no locale).
    auto upper = [](char c) {
        return c >= 'A' && c <= 'Z';
    };
    auto it = headers.end();
    if (std::none_of(name.begin(), name.end(), upper)) {
        it = headers.find(name);
    } else {
        std::string key(name);
        for (auto& c : key) {
            c = upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
        }
        it = headers.find(key);
    }
    return it == headers.end() ? absent : it->second;
}

std::string Request::queryValue(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
}

}  // namespace imagebuild::forwarder
