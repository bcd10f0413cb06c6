// Log lines for journald: stderr with a "<N>" syslog priority prefix, which
// journald turns into PRIORITY=N. error = 5xx and broken invariants,
// warning = 4xx and peers going down, info = lifecycle.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <string>

namespace imagebuild::forwarder::log {

inline void write(int priority, const std::string& text) {
    std::fputs(fmt::format("<{}>{}\n", priority, text).c_str(), stderr);
}

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    write(3, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
    write(4, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    write(6, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace imagebuild::forwarder::log
