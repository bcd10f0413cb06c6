#include "common/multipart_form.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace imagebuild {

namespace {

std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"':
                out += "%22";
                break;
            case '\r':
                out += "%0D";
                break;
            case '\n':
                out += "%0A";
                break;
            default:
                out += c;
        }
    }
    return out + "\"";
}

std::string randomBoundary() {
    std::random_device device;
    std::string boundary = "imagebuild-";
    for (int i = 0; i < 4; ++i) {
        boundary += fmt::format("{:08x}", device());
    }
    return boundary;
}

bool occursIn(const std::vector<MultipartPart>& parts, const std::string& boundary) {
    return std::any_of(parts.begin(), parts.end(), [&](const MultipartPart& p) {
        return p.data.find(boundary) != std::string::npos;
    });
}

}  // namespace

MultipartBody encodeMultipart(const std::vector<MultipartPart>& parts) {
    auto boundary = randomBoundary();
    while (occursIn(parts, boundary)) {
        boundary = randomBoundary();
    }
    MultipartBody out;
    out.contentType = "multipart/form-data; boundary=" + boundary;
    for (const auto& part : parts) {
        out.body +=
            "--" + boundary + "\r\nContent-Disposition: form-data; name=" + quoted(part.name);
        if (!part.filename.empty()) {
            out.body += "; filename=" + quoted(part.filename);
        }
        out.body += "\r\n";
        if (!part.contentType.empty()) {
            out.body += "Content-Type: " + part.contentType + "\r\n";
        }
        out.body += "\r\n";
        out.body += part.data;
        out.body += "\r\n";
    }
    out.body += "--" + boundary + "--\r\n";
    return out;
}

}  // namespace imagebuild
