#include "common/build_id.hpp"

#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>

#include "common/dbus_names.hpp"

namespace imagebuild {

namespace {

bool isHostChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

}  // namespace

bool isValidHostName(std::string_view host) {
    if (host.empty() || host.size() > 64) {
        return false;
    }
    if (!std::all_of(host.begin(), host.end(), isHostChar)) {
        return false;
    }
    auto edge = [](char c) {
        return c == '-' || c == '.';
    };
    return !edge(host.front()) && !edge(host.back()) && host.find("..") == std::string_view::npos;
}

std::string localHostName() {
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    return name;
}

std::string BuildId::str() const {
    return host + "-" + std::to_string(number);
}

std::optional<BuildId> BuildId::parse(std::string_view text) {
    auto dash = text.rfind('-');
    if (dash == std::string_view::npos || dash + 1 >= text.size()) {
        return std::nullopt;
    }
    auto host = text.substr(0, dash);
    auto digits = text.substr(dash + 1);
    if (!isValidHostName(host) || digits.size() > 19 || (digits.size() > 1 && digits[0] == '0')) {
        return std::nullopt;
    }
    std::uint64_t number = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (ec != std::errc{} || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return BuildId{std::string(host), number};
}

std::string buildObjectPath(std::string_view id) {
    char* raw = nullptr;
    std::string label(id);
    if (sd_bus_path_encode(dbus_names::kBuildPathPrefix, label.c_str(), &raw) < 0) {
        throw std::bad_alloc();
    }
    CString path(raw);
    return path.get();
}

std::optional<std::string> buildIdFromObjectPath(std::string_view path) {
    char* raw = nullptr;
    std::string p(path);
    if (sd_bus_path_decode(p.c_str(), dbus_names::kBuildPathPrefix, &raw) <= 0) {
        return std::nullopt;
    }
    CString id(raw);
    return std::string(id.get());
}

}  // namespace imagebuild
