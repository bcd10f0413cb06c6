#include "common/http_url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace imagebuild {

namespace {

constexpr std::string_view kScheme = "http://";

std::optional<HttpUrl> refuse(std::string* why, std::string text) {
    if (why != nullptr) {
        *why = std::move(text);
    }
    return std::nullopt;
}

bool isHostChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

}  // namespace

std::string HttpUrl::hostHeader() const {
    std::string out;
    appendHostHeader(out);
    return out;
}

void HttpUrl::appendHostHeader(std::string& out) const {
    bool literal6 = host.find(':') != std::string::npos;
    out.append(literal6 ? "[" : "").append(host).append(literal6 ? "]" : "");
    if (port != "80") {
        out.append(":").append(port);
    }
}

std::optional<HttpUrl> parseHttpUrl(std::string_view url, std::string* why) {
    const std::string allowed = "expected http://HOST[:PORT][/PATH]";
    if (url.size() > kMaxUrlBytes) {
        return refuse(why, "it is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
    }
    if (std::any_of(url.begin(), url.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u >= 0x7f;
        })) {
        return refuse(why, "it holds blanks, control or non-ASCII characters; " + allowed);
    }
    if (url.rfind("https://", 0) == 0) {
        return refuse(why, "https is not supported (no TLS in this version); " + allowed);
    }
    if (url.rfind(kScheme, 0) != 0) {
        return refuse(why, allowed);
    }
    auto rest = url.substr(kScheme.size());
    if (rest.find('#') != std::string_view::npos) {
        return refuse(why, "a fragment ('#') is not sent over HTTP; " + allowed);
    }
    auto slash = rest.find_first_of("/?");
    auto authority = rest.substr(0, slash);
    HttpUrl u;
    if (slash != std::string_view::npos) {
        u.target = std::string(rest.substr(slash));
        if (u.target.front() == '?') {
            u.target.insert(0, "/");
        }
    }
    if (authority.find('@') != std::string_view::npos) {
        return refuse(why, "user info ('user@') is not supported; " + allowed);
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return refuse(why, "an IPv6 address lacks its ']'; " + allowed);
        }
        u.host = std::string(authority.substr(1, close - 1));
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return refuse(why, allowed);
            }
            port = after.substr(1);
            if (port.empty()) {
                return refuse(why, "the port is empty; " + allowed);
            }
        }
        if (u.host.empty() || !std::all_of(u.host.begin(), u.host.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
            })) {
            return refuse(why, "the IPv6 address is not valid; " + allowed);
        }
    } else {
        auto colon = authority.find(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) {
                return refuse(why, "the port is empty; " + allowed);
            }
        }
        if (u.host.empty() || u.host.size() > 253 ||
            !std::all_of(u.host.begin(), u.host.end(), isHostChar)) {
            return refuse(why, "the host is missing or not a host name or address; " + allowed);
        }
    }
    if (!port.empty()) {
        unsigned n = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535) {
            return refuse(why, "the port must be a number from 1 to 65535; " + allowed);
        }
        u.port = std::to_string(n);
    }
    return u;
}

}  // namespace imagebuild
