#include "common/mail_message.hpp"

#include <fmt/format.h>
#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>

#include <algorithm>
#include <array>

namespace imagebuild {

namespace {

bool isPlainHeaderChar(unsigned char c) {
    return c >= 0x20 && c < 0x7F;
}

// Boost's header-only iterators: six bits of the input at a time become a
// character; the last group is padded with '=' as RFC 2045 wants.
std::string base64(std::string_view data) {
    using namespace boost::archive::iterators;
    using Encode = base64_from_binary<transform_width<const char*, 6, 8>>;
    std::string out(Encode(data.data()), Encode(data.data() + data.size()));
    out.append((3 - data.size() % 3) % 3, '=');
    return out;
}

// Splits at UTF-8 character boundaries so each encoded word stays under the
// 75-character limit of RFC 2047 and decodes on its own.
std::vector<std::string> utf8Chunks(const std::string& text, std::size_t maxBytes) {
    std::vector<std::string> chunks;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = std::min(text.size(), start + maxBytes);
        while (end < text.size() && end > start &&
               (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
            --end;
        }
        if (end == start) {
            end = std::min(text.size(), start + maxBytes);
        }
        chunks.push_back(text.substr(start, end - start));
        start = end;
    }
    return chunks;
}

}  // namespace

std::string rfc5322Date(std::time_t when) {
    std::tm utc{};
    gmtime_r(&when, &utc);
    std::array<char, 64> buffer{};
    std::strftime(buffer.data(), buffer.size(), "%a, %d %b %Y %H:%M:%S +0000", &utc);
    return buffer.data();
}

std::string encodeHeaderText(const std::string& text) {
    if (std::all_of(text.begin(), text.end(),
                    [](char c) { return isPlainHeaderChar(static_cast<unsigned char>(c)); }) &&
        text.find("=?") == std::string::npos) {
        return text;
    }
    std::string encoded;
    // 45 bytes of text become 60 characters of base64: with "=?UTF-8?B?"
    // and "?=" each word is 72 characters.
    for (const auto& chunk : utf8Chunks(text, 45)) {
        if (!encoded.empty()) {
            encoded += "\n ";  // folding: a continuation line, never a new header
        }
        encoded += "=?UTF-8?B?" + base64(chunk) + "?=";
    }
    return encoded;
}

std::string renderMail(const MailMessage& message) {
    std::string to;
    for (const auto& address : message.to) {
        to += (to.empty() ? "" : ", ") + address;
    }
    std::string mail;
    mail += fmt::format("From: {}\n", message.from);
    mail += fmt::format("To: {}\n", to);
    mail += fmt::format("Subject: {}\n", encodeHeaderText(message.subject));
    mail += fmt::format("Date: {}\n", rfc5322Date(message.date));
    mail += fmt::format("Message-ID: <{}>\n", message.messageId);
    mail += "MIME-Version: 1.0\n";
    mail += "Content-Type: text/plain; charset=utf-8\n";
    mail += "Content-Transfer-Encoding: 8bit\n";
    mail += "Auto-Submitted: auto-generated\n";
    mail += "\n";
    mail += message.body;
    if (!message.body.empty() && message.body.back() != '\n') {
        mail += '\n';
    }
    return mail;
}

}  // namespace imagebuild
