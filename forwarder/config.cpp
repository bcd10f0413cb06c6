#include "forwarder/config.hpp"

#include "common/config.hpp"
#include "common/config_problems.hpp"
#include "common/ini_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "imagebuild_config.h"

namespace imagebuild::forwarder {

namespace {

constexpr const char* kSection = "forwarder";

// The [forwarder] section of imagebuild.conf, read by the same rules as the
// agent reads the rest of the file (common/ini_file), lines included.
class Reader {
public:
    Reader(std::string_view text, std::string name)
        : section_(parseIniFile(text, name, kConfigListKeys).sections[kSection]),
          name_(std::move(name)) {}

    void checkKnownKeys(const std::set<std::string>& known) const {
        std::map<int, std::string> unknown;
        for (const auto& [key, value] : section_) {
            if (!known.count(key)) {
                unknown[value.line] = fmt::format("{}:{}: unknown key '{}' in [{}]", name_,
                                                  value.line, key, kSection);
            }
        }
        throwIfAny(unknown);
    }

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        auto it = section_.find(key);
        int line = it == section_.end() ? 0 : it->second.line;
        throw ConfigError(fmt::format("{}:{}: {}: {}", name_, line, key, what));
    }

    void string(const std::string& key, std::string& out) const {
        if (auto it = section_.find(key); it != section_.end()) {
            out = it->second.value;
        }
    }

    template <typename T>
    void number(const std::string& key, T& out, T min, T max) const {
        auto it = section_.find(key);
        if (it == section_.end()) {
            return;
        }
        const auto& text = it->second.value;  // inih trims values
        T value{};
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
            fail(key, fmt::format("'{}' is not an integer in {}..{}", text, min, max));
        }
        out = value;
    }

    void boolean(const std::string& key, bool& out) const {
        auto it = section_.find(key);
        if (it == section_.end()) {
            return;
        }
        const auto& text = it->second.value;  // inih trims values
        static const std::set<std::string> yes{"1", "yes", "true", "on"};
        static const std::set<std::string> no{"0", "no", "false", "off"};
        if (yes.count(text)) {
            out = true;
        } else if (no.count(text)) {
            out = false;
        } else {
            fail(key, fmt::format("'{}' is not a boolean (yes/no/true/false/1/0)", text));
        }
    }

private:
    std::map<std::string, IniValue> section_;
    std::string name_;
};

bool validPeerUrl(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        return false;
    }
    auto rest = std::string_view(url).substr(scheme.size());
    if (!rest.empty() && rest.back() == '/') {
        rest.remove_suffix(1);
    }
    if (rest.find('/') != std::string_view::npos) {
        return false;
    }
    try {
        if (rest.find(':') == std::string_view::npos) {
            return !rest.empty();
        }
        splitHostPort(rest);
        return true;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

}  // namespace

std::pair<std::string, unsigned short> splitHostPort(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        throw std::invalid_argument(fmt::format("'{}' is not ADDRESS:PORT", text));
    }
    auto host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    auto portText = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || end != portText.data() + portText.size() || port == 0 ||
        port > 65535) {
        throw std::invalid_argument(fmt::format("'{}' has no valid port (1..65535)", text));
    }
    return {std::string(host), static_cast<unsigned short>(port)};
}

ForwarderConfig defaultConfig() {
    ForwarderConfig config;
    config.tokensFile = std::string(IMAGEBUILD_SYSCONFDIR) + "/imagebuild/tokens";
    config.fleetTokenFile = std::string(IMAGEBUILD_SYSCONFDIR) + "/imagebuild/fleet-token";
    config.wwwDir = std::string(IMAGEBUILD_PKGDATADIR) + "/www";
    return config;
}

ForwarderConfig parseConfig(std::string_view text, const std::string& name) {
    Reader r(text, name);
    r.checkKnownKeys({"listen",
                      "peers",
                      "public_url",
                      "tokens",
                      "fleet_token_file",
                      "fleet_token_name",
                      "health_interval_sec",
                      "health_timeout_sec",
                      "peer_timeout_sec",
                      "first_probe_wait_sec",
                      "read_open",
                      "max_body_bytes",
                      "max_upload_bytes",
                      "max_upload_entries",
                      "max_head_bytes",
                      "max_connections",
                      "max_connections_per_address",
                      "head_timeout_sec",
                      "request_timeout_sec",
                      "follow_ring_lines",
                      "www_dir"});
    ForwarderConfig c = defaultConfig();
    r.string("listen", c.listen);
    try {
        splitHostPort(c.listen);
    } catch (const std::invalid_argument& e) {
        r.fail("listen", e.what());
    }
    std::string peers;
    r.string("peers", peers);
    c.peers = splitWords(peers);
    for (auto& url : c.peers) {
        if (!validPeerUrl(url)) {
            r.fail("peers", fmt::format("'{}' is not http://HOST[:PORT]", url));
        }
        if (url.back() == '/') {
            url.pop_back();
        }
    }
    r.string("public_url", c.publicUrl);
    r.string("tokens", c.tokensFile);
    r.string("fleet_token_file", c.fleetTokenFile);
    r.string("fleet_token_name", c.fleetTokenName);
    r.number("health_interval_sec", c.healthIntervalSec, 1u, 3600u);
    r.number("health_timeout_sec", c.healthTimeoutSec, 1u, 60u);
    r.number("peer_timeout_sec", c.peerTimeoutSec, 1u, 3600u);
    r.number("first_probe_wait_sec", c.firstProbeWaitSec, 0u, 60u);
    r.boolean("read_open", c.readOpen);
    r.number("max_body_bytes", c.maxBodyBytes, std::size_t{1}, std::size_t{1} << 34);
    r.number("max_upload_bytes", c.maxUploadBytes, std::size_t{1}, std::size_t{1} << 34);
    r.number("max_upload_entries", c.maxUploadEntries, std::size_t{1}, std::size_t{1} << 24);
    r.number("max_head_bytes", c.maxHeadBytes, std::size_t{1024}, std::size_t{1} << 20);
    r.number("max_connections", c.maxConnections, 1u, 65535u);
    r.number("max_connections_per_address", c.maxConnectionsPerAddress, 1u, 65535u);
    r.number("head_timeout_sec", c.headTimeoutSec, 1u, 3600u);
    r.number("request_timeout_sec", c.requestTimeoutSec, 1u, 86400u);
    r.number("follow_ring_lines", c.followRingLines, std::size_t{16}, std::size_t{1} << 24);
    r.string("www_dir", c.wwwDir);
    return c;
}

ForwarderConfig loadConfig(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) {
            return defaultConfig();
        }
        throw ConfigError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    }
    std::stringstream text;
    text << in.rdbuf();
    return parseConfig(text.str(), path);
}

}  // namespace imagebuild::forwarder
