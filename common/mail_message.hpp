// An e-mail as RFC 5322 text for a sendmail interface: UTF-8 body, headers
// that survive any build name (encoded words, no line breaks smuggled in).
#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace imagebuild {

struct MailMessage {
    std::string from;
    std::vector<std::string> to;  // validated addresses (build_spec.hpp)
    std::string subject;          // any UTF-8 text; encoded as needed
    std::string body;             // UTF-8 text, '\n' line ends
    std::time_t date = 0;
    std::string messageId;  // without angle brackets: "<unique>@<host>"
};

// "Thu, 26 Nov 2026 02:40:08 +0000" (RFC 5322 section 3.3), in UTC.
std::string rfc5322Date(std::time_t when);

// A header value safe for one header line: printable ASCII as it is,
// anything else (UTF-8, control characters, line breaks) as RFC 2047 encoded
// words, so no text can start a header of its own.
std::string encodeHeaderText(const std::string& text);

// The whole message: headers, a blank line, the body, '\n' line ends.
std::string renderMail(const MailMessage& message);

}  // namespace imagebuild
