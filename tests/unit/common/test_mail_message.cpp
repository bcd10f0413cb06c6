// common/mail_message.cpp: the RFC 5322 text of a mail, its headers safe.
#include <gtest/gtest.h>

#include "common/mail_message.hpp"

using namespace imagebuild;

namespace {

std::string headerOf(const std::string& mail, const std::string& name) {
    auto start = mail.find("\n" + name + ": ");
    if (mail.rfind(name + ": ", 0) == 0) {
        start = 0;
    } else if (start == std::string::npos) {
        return "";
    } else {
        start += 1;
    }
    return mail.substr(start, mail.find('\n', start) - start);
}

}  // namespace

TEST(MailMessage, RendersRfc5322HeadersAndUtf8Body) {
    MailMessage message{"a@b", {"c@d", "e@f"}, "plain subject", "héllo\n", 0, "x.1@b"};
    auto mail = renderMail(message);
    EXPECT_EQ(headerOf(mail, "From"), "From: a@b");
    EXPECT_EQ(headerOf(mail, "To"), "To: c@d, e@f");
    EXPECT_EQ(headerOf(mail, "Subject"), "Subject: plain subject");
    EXPECT_EQ(headerOf(mail, "Date"), "Date: Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(headerOf(mail, "Message-ID"), "Message-ID: <x.1@b>");
    EXPECT_EQ(headerOf(mail, "Content-Type"), "Content-Type: text/plain; charset=utf-8");
    EXPECT_NE(mail.find("\n\nhéllo\n"), std::string::npos);
}

TEST(MailMessage, NonAsciiSubjectBecomesEncodedWords) {
    EXPECT_EQ(encodeHeaderText("Grüße"), "=?UTF-8?B?R3LDvMOfZQ==?=");
    // Every length modulo 3, each padded as RFC 4648 wants.
    EXPECT_EQ(encodeHeaderText("fooba\xC3\xA9"), "=?UTF-8?B?Zm9vYmHDqQ==?=");
    EXPECT_EQ(encodeHeaderText("foob\xC3\xA9"), "=?UTF-8?B?Zm9vYsOp?=");
    EXPECT_EQ(encodeHeaderText("fo\xC3\xA9"), "=?UTF-8?B?Zm/DqQ==?=");
    EXPECT_EQ(encodeHeaderText("f\xC3\xA9"), "=?UTF-8?B?ZsOp?=");
    EXPECT_EQ(encodeHeaderText("\xC3\xA9"), "=?UTF-8?B?w6k=?=");
    // Long text folds into several words on continuation lines, each under
    // the 75 characters RFC 2047 allows, split between UTF-8 characters.
    std::string longText(40, 'x');
    longText += "ééééééééééé";
    auto encoded = encodeHeaderText(longText);
    std::size_t start = 0;
    int words = 0;
    while (start < encoded.size()) {
        auto end = encoded.find("\n ", start);
        auto word = encoded.substr(start, end == std::string::npos ? end : end - start);
        EXPECT_LE(word.size(), 75u) << word;
        EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u) << word;
        ++words;
        start = end == std::string::npos ? encoded.size() : end + 2;
    }
    EXPECT_EQ(words, 2);
}

TEST(MailMessage, LineBreaksInTextCannotInjectHeaders) {
    MailMessage message{"a@b", {"c@d"}, "x\nBcc: victim@example.org", "", 0, "i@b"};
    auto mail = renderMail(message);
    EXPECT_EQ(mail.find("\nBcc:"), std::string::npos) << mail;
    EXPECT_NE(headerOf(mail, "Subject").find("=?UTF-8?B?"), std::string::npos);
}
