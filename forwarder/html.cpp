#include "forwarder/html.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

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

namespace {

// A JavaScript string literal safe inside <script>: JSON, with '<' escaped so
// that no "</script>" can close the element.
std::string jsString(const std::string& text) {
    auto quoted =
        nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    std::string out;
    for (char c : quoted) {
        out += c == '<' ? std::string("\\u003c") : std::string(1, c);
    }
    return out;
}

}  // namespace

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
        "<title>imagebuild {}</title>"
        "<style>body{{font-family:sans-serif;margin:1em}}pre{{background:#f4f4f4;padding:.5em;"
        "white-space:pre-wrap}}</style></head><body>\n"
        "<h1>Build {}</h1>\n<p>{} {} for {}/{} &mdash; state: <b id=\"state\">{}</b>{}</p>\n"
        "<pre id=\"log\">",
        refresh, id, id, htmlEscape(build.type), htmlEscape(build.name), htmlEscape(build.arch),
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
        // Follow live from the last line shown; the cursor travels as ?after=.
        out += fmt::format(
            "<script>\n"
            "const log = document.getElementById('log');\n"
            "const es = new EventSource('/monitor/' + encodeURIComponent({}) + '?after=' + "
            "encodeURIComponent({}));\n"
            "es.onmessage = (e) => {{ document.getElementById('empty')?.remove(); "
            "log.append(e.data + '\\n'); }};\n"
            "es.addEventListener('end', (e) => {{ "
            "document.getElementById('state').textContent = e.data; es.close(); }});\n"
            "</script>\n",
            jsString(build.id), jsString(lastCursor));
    }
    out += "</body></html>\n";
    return out;
}

}  // namespace imagebuild::forwarder
