#include "forwarder/html.hpp"

#include <fmt/format.h>

namespace imagebuild::forwarder {

std::string htmlEscape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string stateSentence(const BuildInfo& build) {
    if (build.state == "queued") {
        return fmt::format("Build {} is queued: it starts when a build slot is free.", build.id);
    }
    if (build.finished()) {
        return fmt::format("Build {} has ended: {}.", build.id,
                           build.result.empty() ? build.state : build.result);
    }
    return fmt::format("Build {} is {}; no output yet.", build.id, build.state);
}

std::string monitorPageHead(const BuildInfo& build) {
    auto id = htmlEscape(build.id);
    std::string refresh =
        build.finished() ? "" : "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>";
    return fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{}"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>imagebuild {}</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
        "</head><body class=\"monitor\">\n"
        "<p><a href=\"/builds/{}\">Build page</a> &middot; <a href=\"/\">Fleet dashboard</a></p>\n"
        "<h1>Build {}</h1>\n<p>{} {} for {}/{} &mdash; state: <b id=\"state\">{}</b>{}</p>\n"
        "<pre id=\"log\">",
        refresh, id, id, id, htmlEscape(build.type), htmlEscape(build.name), htmlEscape(build.arch),
        htmlEscape(build.release), htmlEscape(build.state),
        build.result.empty() ? "" : ", result: <b>" + htmlEscape(build.result) + "</b>");
}

std::string monitorPageTail(const BuildInfo& build, const std::string& lastCursor, bool empty) {
    std::string out;
    if (empty) {
        out += "<span id=\"empty\">" + htmlEscape(stateSentence(build)) + "</span>\n";
    }
    out += "</pre>\n";
    if (!build.artifacts.empty()) {
        out += "<h2>Artifacts</h2>\n<ul>\n";
        for (const auto& a : build.artifacts) {
            out +=
                fmt::format("<li><a href=\"/artifacts/{}/{}\">{}</a> ({} bytes)</li>\n",
                            htmlEscape(build.id), htmlEscape(a.name), htmlEscape(a.name), a.size);
        }
        out += "</ul>\n";
    }
    if (!build.finished()) {
        // Follow live from the last line shown (static/monitor.js; no inline
        // script, the page's Content-Security-Policy forbids it). The
        // cursor travels as ?after=.
        out += fmt::format(
            "<div id=\"follow\" hidden data-build=\"{}\" data-after=\"{}\"></div>\n"
            "<script type=\"module\" src=\"/static/monitor.js\"></script>\n",
            htmlEscape(build.id), htmlEscape(lastCursor));
    }
    out += "</body></html>\n";
    return out;
}

}  // namespace imagebuild::forwarder
