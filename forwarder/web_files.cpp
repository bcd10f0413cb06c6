#include "forwarder/web_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "forwarder/html.hpp"
#include "forwarder/http_cache.hpp"
#include "forwarder/json_error.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr std::array<std::pair<const char*, const char*>, 8> kTypes{{
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".html", "text/html; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".json", "application/json"},
}};

bool safeName(const std::string& name) {
    if (name.empty() || name.size() > 128 || name.front() == '.' || name.front() == '-') {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-';
    });
}

bool endsWith(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Response notFound(const std::string& name) {
    return jsonError(404, "NotFound", fmt::format("no static file '{}'", name.substr(0, 80)));
}

}  // namespace

void addPageSecurityHeaders(Response& response) {
    response.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("X-Frame-Options", "DENY");
    response.headers.emplace_back("Referrer-Policy", "same-origin");
}

std::optional<std::string> staticContentType(const std::string& name) {
    if (!safeName(name)) {
        return std::nullopt;
    }
    for (const auto& [extension, type] : kTypes) {
        if (endsWith(name, extension)) {
            return std::string(type);
        }
    }
    return std::nullopt;
}

namespace {

Response fileResponse(const std::string& path, const std::string& type, const std::string& name,
                      const Request& request, int openFlags) {
    auto fd = std::make_shared<UniqueFd>(open(path.c_str(), O_RDONLY | O_CLOEXEC | openFlags));
    struct stat st {};
    if (!*fd || fstat(fd->get(), &st) < 0 || !S_ISREG(st.st_mode)) {
        return notFound(name);
    }
    auto etag = fmt::format("\"{:x}-{:x}-{:x}\"", st.st_ino, st.st_size,
                            st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec);
    Response response;
    response.contentType = type;
    response.headers = {
        {"ETag", etag}, {"Cache-Control", "no-cache"}, {"X-Content-Type-Options", "nosniff"}};
    if (etagMatches(request.header("if-none-match"), etag)) {
        response.status = 304;
        return response;
    }
    auto file = std::make_shared<FileBody>();
    file->fd = std::move(fd);
    file->length = static_cast<std::uint64_t>(st.st_size);
    response.file = std::move(file);
    return response;
}

}  // namespace

Response staticFile(const std::string& wwwDir, const std::string& name, const Request& request) {
    auto type = staticContentType(name);
    if (!type) {
        return notFound(name);
    }
    return fileResponse(wwwDir + "/static/" + name, *type, name, request, O_NOFOLLOW);
}

Response javascriptFile(const std::string& javascriptDir, const std::string& library,
                        const std::string& name, const Request& request) {
    auto type = staticContentType(name);
    if (!safeName(library) || !type || (!endsWith(name, ".js") && !endsWith(name, ".css"))) {
        return notFound(library + "/" + name);
    }
    return fileResponse(javascriptDir + "/" + library + "/" + name, *type, library + "/" + name,
                        request, 0);
}

namespace {

std::optional<std::string> readWholeFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Response webNotInstalled(const std::string& wwwDir, const std::string& file) {
    return htmlError(404, fmt::format("The web interface is not installed here ({}/{} "
                                      "is missing); the API under /v1 works without it.",
                                      wwwDir, file));
}

}  // namespace

Response htmlPage(const std::string& wwwDir, const std::string& file,
                  const std::map<std::string, std::string>& values) {
    auto text = readWholeFile(wwwDir + "/" + file);
    if (!text) {
        return webNotInstalled(wwwDir, file);
    }
    std::string page = std::move(*text);
    constexpr std::string_view kHeaderInclude = "{{> header}}";
    if (auto at = page.find(kHeaderInclude); at != std::string::npos) {
        auto header = readWholeFile(wwwDir + "/header.html");
        if (!header) {
            return webNotInstalled(wwwDir, "header.html");
        }
        page.replace(at, kHeaderInclude.size(), *header);
    }
    for (const auto& [key, value] : values) {
        auto placeholder = "{{" + key + "}}";
        auto escaped = htmlEscape(value);
        for (auto at = page.find(placeholder); at != std::string::npos;
             at = page.find(placeholder, at + escaped.size())) {
            page.replace(at, placeholder.size(), escaped);
        }
    }
    Response response;
    response.contentType = "text/html; charset=utf-8";
    response.body = std::move(page);
    response.headers.emplace_back("Cache-Control", "no-cache");
    addPageSecurityHeaders(response);
    return response;
}

Response htmlError(unsigned status, const std::string& message) {
    Response response;
    response.status = status;
    response.contentType = "text/html; charset=utf-8";
    response.body = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>imagebuild: {}</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
        "</head><body><main><h1>{}</h1><p>{}</p><p><a href=\"/\">Fleet dashboard</a></p>"
        "</main></body></html>\n",
        status, errorNameForStatus(status), htmlEscape(message));
    addPageSecurityHeaders(response);
    return response;
}

}  // namespace imagebuild::forwarder
