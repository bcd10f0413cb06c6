// The web interface: GET / (fleet dashboard), /stats (the fleet's last days
// in charts), /builds/{id} (one build), /submit (the form), /static/{name}
// and /javascript/{library}/{name} (Debian's packaged libraries: Chart.js). The pages carry no
// data: their scripts read the /v1 API, so every forwarder serves the same interface for the whole
// fleet. See docs/web.md.
#include <cctype>
#include <charconv>
#include <string>

#include "common/build_id.hpp"
#include "forwarder/app.hpp"
#include "forwarder/routes.hpp"
#include "forwarder/web_files.hpp"

namespace imagebuild::forwarder {

namespace {

// As URLSearchParams writes a value (application/x-www-form-urlencoded).
std::string formEncoded(const std::string& value) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

// The builds page the dashboard asks for first: the view in the page's own
// URL, with the parameters in the order dashboard.js's buildsUrl() writes
// them. The page names it in a <link rel="preload">, so the browser asks
// while it still loads the scripts; a mismatch costs a second request, never
// a wrong list (the script uses the preload only for the same URL).
std::string firstBuildsUrl(const Request& request) {
    std::string url = "/v1/builds?order=newest&limit=50";
    if (const auto& cursor = request.queryValue("cursor"); !cursor.empty()) {
        url += "&cursor=" + formEncoded(cursor);
    }
    for (const char* key : {"state", "host", "arch", "release", "type"}) {
        if (const auto& value = request.queryValue(key); !value.empty()) {
            url += std::string("&") + key + "=" + formEncoded(value);
        }
    }
    return url;
}

Response handleDashboard(App& app, Request& request) {
    return htmlPage(app.config().wwwDir, "index.html", {{"builds", firstBuildsUrl(request)}});
}

Response handleSubmitPage(App& app, Request&) {
    return htmlPage(app.config().wwwDir, "submit.html");
}

Response handleBuildPage(App& app, Request& request) {
    const auto& id = request.params.at("id");
    if (!BuildId::parse(id)) {
        return htmlError(404, "'" + id.substr(0, 80) + "' is not a build id (<host>-<number>).");
    }
    // The id is only placed in the page (escaped) for the links that work
    // without JavaScript; whether the build exists the page asks the API.
    return htmlPage(app.config().wwwDir, "build.html", {{"id", id}});
}

Response handleStatsPage(App& app, Request&) {
    return htmlPage(app.config().wwwDir, "stats.html");
}

Response handleStatic(App& app, Request& request) {
    return staticFile(app.config().wwwDir, request.params.at("name"), request);
}

Response handleJavascript(Request& request) {
    return javascriptFile(kDebianJavascriptDir, request.params.at("library"),
                          request.params.at("name"), request);
}

}  // namespace

void registerWeb(App& app) {
    auto& router = app.router();
    router.add("GET", "/", Access::Read, std::bind_front(handleDashboard, std::ref(app)));
    router.add("GET", "/submit", Access::Read, std::bind_front(handleSubmitPage, std::ref(app)));
    router.add("GET", "/builds/{id}", Access::Read,
               std::bind_front(handleBuildPage, std::ref(app)));
    router.add("GET", "/stats", Access::Read, std::bind_front(handleStatsPage, std::ref(app)));
    router.add("GET", "/static/{name}", Access::Read, std::bind_front(handleStatic, std::ref(app)));
    router.add("GET", "/javascript/{library}/{name}", Access::Read, handleJavascript);
}

}  // namespace imagebuild::forwarder
