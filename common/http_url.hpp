// An http:// URL split into what a Boost.Beast client needs. Plain http
// only: the Beast we build against has no OpenSSL streams linked in, so
// https:// is refused with a message saying so (use a local TLS-terminating
// proxy for an https endpoint).
//
//   http://HOST[:PORT][/PATH[?QUERY]]   HOST: a name, IPv4, or [IPv6]
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imagebuild {

struct HttpUrl {
    std::string host;                // without the brackets of an IPv6 literal
    std::string port = "80";         // digits, 1 to 65535
    std::string target = "/";        // path and query, starting with '/'
    std::string hostHeader() const;  // host[:port] as the Host: header wants it
    void appendHostHeader(std::string& out) const;
};

inline constexpr std::size_t kMaxUrlBytes = 2048;

// nullopt and *why set (a sentence naming what is wrong and what is allowed)
// for anything else: other schemes, user info, fragments, blanks or control
// characters, a bad port, more than kMaxUrlBytes.
std::optional<HttpUrl> parseHttpUrl(std::string_view url, std::string* why = nullptr);

}  // namespace imagebuild
