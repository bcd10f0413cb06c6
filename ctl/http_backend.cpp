// `imagebuildctl -H URL`: the forwarder's HTTP API (/v1/builds, /v1/hosts,
// /monitor, /artifacts) with the one HTTP client (common/http_client.hpp),
// one kept-alive connection reused from call to call (list pages, polls).
// Plain http only (no TLS in this version).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/build_json.hpp"
#include "common/http_client.hpp"
#include "common/http_url.hpp"
#include "ctl/atomic_file.hpp"
#include "ctl/backend.hpp"
#include "ctl/ctl_error.hpp"
#include "ctl/error_map.hpp"
#include "ctl/side_repo_options.hpp"
#include "imagebuild_config.h"

namespace imagebuild::ctl {

namespace {

constexpr std::chrono::milliseconds kRequestTimeout = std::chrono::seconds(30);
constexpr auto kWaitPoll = std::chrono::seconds(2);
// GET /v1/builds takes at most 1000 builds a page.
constexpr std::uint32_t kPage = 1000;

struct Endpoint {
    HttpUrl url;       // its target is not used: requests go to base + path
    std::string base;  // path prefix, no trailing '/'
};

// -H takes what common/http_url.hpp parses, plus a bare HOST[:PORT] (read
// as http://HOST[:PORT]); https gets its own sentence.
Endpoint parseUrl(const std::string& url) {
    if (url.rfind("https://", 0) == 0) {
        throw CtlError(kExitUsage,
                       fmt::format("-H {}: https is not supported by this imagebuildctl; "
                                   "use http:// (or a local TLS tunnel)",
                                   url));
    }
    std::string why;
    auto parsed = parseHttpUrl(url.find("://") == std::string::npos ? "http://" + url : url, &why);
    if (!parsed) {
        throw CtlError(kExitUsage, fmt::format("-H {}: {}", url, why));
    }
    Endpoint e{*parsed, std::move(parsed->target)};
    while (!e.base.empty() && e.base.back() == '/') {
        e.base.pop_back();
    }
    return e;
}

std::string percentEncode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

// The query of GET /v1/builds for one page: the states filtered by the server.
std::string pageQuery(const std::vector<std::string>& states, bool newestFirst, std::uint32_t limit,
                      const std::string& cursor) {
    auto query =
        fmt::format("/v1/builds?order={}&limit={}", newestFirst ? "newest" : "oldest", limit);
    if (!states.empty()) {
        query += "&state=" + percentEncode(fmt::format("{}", fmt::join(states, ",")));
    }
    if (!cursor.empty()) {
        query += "&cursor=" + percentEncode(cursor);
    }
    return query;
}

void addUnreachable(const nlohmann::json& page, std::vector<std::string>& unreachable) {
    for (auto& host : page.value("unreachable", std::vector<std::string>{})) {
        if (std::find(unreachable.begin(), unreachable.end(), host) == unreachable.end()) {
            unreachable.push_back(std::move(host));
        }
    }
}

class HttpBackend final : public Backend {
public:
    HttpBackend(std::string url, const std::string& token)
        : url_(std::move(url)),
          endpoint_(parseUrl(url_)),
          client_(endpoint_.url,
                  HttpClientOptions{std::string("imagebuildctl/") + IMAGEBUILD_VERSION, token,
                                    /*maxIdle=*/1, HttpClientOptions{}.bodyLimit, nullptr}) {}

    BuildInfo submit(const BuildSpec& spec) override {
        if (!spec.rpms.empty()) {  // the files go as parts of a form
            auto form = submitFormOf(spec);
            return json("POST", "/v1/builds", form.body, form.contentType).get<BuildInfo>();
        }
        return json("POST", "/v1/builds", specToJson(spec).dump()).get<BuildInfo>();
    }

    ListResult list(const std::vector<std::string>& states) override {
        ListResult result;
        result.unreachable = listEach(
            states, [&result](BuildInfo&& b) { result.builds.push_back(std::move(b)); }, {});
        return result;
    }

    // As over D-Bus: newest, the newest N (asked newest first, handed on
    // oldest first); else every build, page after page from the oldest on,
    // each build handed on as its page arrives. The server filters by state.
    std::vector<std::string> listEach(const std::vector<std::string>& states,
                                      const std::function<void(BuildInfo&&)>& each,
                                      std::optional<std::uint32_t> newest) override {
        std::vector<std::string> unreachable;
        std::vector<BuildInfo> newestFirst;
        std::string cursor;
        for (;;) {
            auto limit =
                newest ? std::min(kPage, *newest - static_cast<std::uint32_t>(newestFirst.size()))
                       : kPage;
            auto page = json("GET", pageQuery(states, newest.has_value(), limit, cursor), "");
            addUnreachable(page, unreachable);
            for (auto& b : page.value("builds", nlohmann::json::array())) {
                if (newest) {
                    newestFirst.push_back(b.get<BuildInfo>());
                } else {
                    each(b.get<BuildInfo>());
                }
            }
            auto next = page.find("next_cursor");
            if (next == page.end() || !next->is_string() ||
                (newest && newestFirst.size() >= *newest)) {
                break;
            }
            cursor = next->get<std::string>();
        }
        for (auto it = newestFirst.rbegin(); it != newestFirst.rend(); ++it) {
            each(std::move(*it));
        }
        return unreachable;
    }

    BuildInfo get(const std::string& id) override {
        return json("GET", "/v1/builds/" + percentEncode(id), "").get<BuildInfo>();
    }

    void cancel(const std::string& id) override {
        exchange("DELETE", "/v1/builds/" + percentEncode(id), "");
    }

    BuildInfo retry(const std::string& id) override {
        return json("POST", "/v1/builds/" + percentEncode(id) + "/retry", "").get<BuildInfo>();
    }

    void setPinned(const std::string& id, bool pinned) override {
        throw CtlError(kExitUsage,
                       fmt::format("{} is not supported over -H (the HTTP API has no pin); run "
                                   "imagebuildctl {} {} on the build's host",
                                   pinned ? "pin" : "unpin", pinned ? "pin" : "unpin", id));
    }

    std::vector<HostInfo> hosts() override {
        std::vector<HostInfo> hosts;
        for (const auto& h : json("GET", "/v1/hosts", "").value("hosts", nlohmann::json::array())) {
            hosts.push_back(h.get<HostInfo>());
        }
        return hosts;
    }

    // The API has no push for a build's end: ask every few seconds.
    BuildInfo waitFinished(const std::string& id) override {
        auto info = get(id);
        while (!info.finished()) {
            std::this_thread::sleep_for(kWaitPoll);
            info = get(id);
        }
        return info;
    }

    void download(const BuildInfo& build, const Artifact& artifact,
                  const std::string& destination) override {
        auto target = "/artifacts/" + percentEncode(build.id) + "/" + percentEncode(artifact.name);
        writeFileAtomically(destination, [&](const auto& write) { stream(target, false, write); });
    }

    bool servesLog() const override { return true; }

    void streamLog(const std::string& id, bool follow,
                   const std::function<void(std::string_view)>& sink) override {
        stream("/monitor/" + percentEncode(id) + (follow ? "?follow=1" : ""), follow, sink);
    }

private:
    [[noreturn]] void unreachable(const HttpError& e) const {
        throw CtlError(kExitUnreachable,
                       fmt::format("Cannot reach the forwarder at {}: {}", url_, e.what()));
    }

    [[noreturn]] void failed(unsigned status, const std::string& body) const {
        std::string name;
        std::string message;
        auto parsed = nlohmann::json::parse(body, nullptr, false);
        if (parsed.is_object()) {
            name = parsed.value("error", "");
            message = parsed.value("message", "");
        } else {
            message = body.substr(0, 200);
        }
        auto mapped = mapHttpError(static_cast<int>(status), name, message, url_);
        throw CtlError(mapped.exitCode, mapped.message);
    }

    std::string exchange(const char* method, const std::string& target, const std::string& body,
                         const std::string& contentType = "application/json") {
        HttpResponse res;
        try {
            res = client_.request(
                {method, endpoint_.base + target, body, body.empty() ? "" : contentType, {}},
                kRequestTimeout);
        } catch (const HttpError& e) {
            unreachable(e);
        }
        if (res.status >= 300) {
            failed(res.status, res.body);
        }
        return std::move(res.body);
    }

    nlohmann::json json(const char* method, const std::string& target, const std::string& body,
                        const std::string& contentType = "application/json") {
        auto text = exchange(method, target, body, contentType);
        try {
            return nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw CtlError(
                kExitFailure,
                fmt::format("The forwarder at {} sent an answer to {} that is not JSON: {}", url_,
                            target, e.what()));
        }
    }

    // For bodies that may be long or endless (a followed log, an ISO): hand
    // each piece to sink as it arrives. An endless one waits as long as the
    // build is silent; any other gives up after kRequestTimeout without a byte.
    void stream(const std::string& target, bool endless,
                const std::function<void(std::string_view)>& sink) {
        try {
            auto response =
                client_.stream({"GET", endpoint_.base + target, "", "", {{"Accept", "text/plain"}}},
                               kRequestTimeout, endless ? kNoTimeout : kRequestTimeout);
            bool ok = response->head().status < 300;
            std::string errorBody;
            char chunk[16384];
            while (auto n = response->read(chunk, sizeof chunk)) {
                if (ok) {
                    sink(std::string_view(chunk, n));
                } else {
                    errorBody.append(chunk, n);
                }
            }
            if (!ok) {
                failed(response->head().status, errorBody);
            }
        } catch (const HttpError& e) {
            unreachable(e);
        }
    }

    std::string url_;
    Endpoint endpoint_;
    HttpClient client_;
};

}  // namespace

std::unique_ptr<Backend> makeHttpBackend(const std::string& url, const std::string& token) {
    return std::make_unique<HttpBackend>(url, token);
}

}  // namespace imagebuild::ctl
