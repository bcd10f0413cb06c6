#include "common/kickstart_paths.hpp"

#include <vector>

namespace imagebuild::kickstart {

namespace {

std::vector<std::string_view> splitSlashes(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            slash = path.size();
        }
        parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

}  // namespace

std::string joinPath(std::string_view dir, std::string_view name) {
    if (!name.empty() && name.front() == '/') {
        return std::string(name);
    }
    if (dir.empty() || dir.back() == '/') {
        return std::string(dir) + std::string(name);
    }
    return std::string(dir) + "/" + std::string(name);
}

std::string dirName(std::string_view path) {
    std::size_t cut = path.rfind('/');
    std::string_view head =
        cut == std::string_view::npos ? std::string_view() : path.substr(0, cut + 1);
    if (!head.empty() && head.find_first_not_of('/') != std::string_view::npos) {
        while (!head.empty() && head.back() == '/') {
            head.remove_suffix(1);
        }
    }
    return std::string(head);
}

std::string normPath(std::string_view path) {
    if (path.empty()) {
        return ".";
    }
    std::size_t slashes = 0;
    while (slashes < path.size() && path[slashes] == '/') {
        ++slashes;
    }
    // POSIX keeps exactly two leading slashes; one or three+ become one.
    std::string prefix = slashes == 2 ? "//" : (slashes > 0 ? "/" : "");
    std::vector<std::string_view> out;
    for (std::string_view part : splitSlashes(path)) {
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == ".." &&
            ((prefix.empty() && out.empty()) || (!out.empty() && out.back() == ".."))) {
            out.push_back(part);
        } else if (part == "..") {
            if (!out.empty()) {
                out.pop_back();
            }
        } else {
            out.push_back(part);
        }
    }
    std::string result = prefix;
    for (std::size_t i = 0; i < out.size(); ++i) {
        result += (i ? "/" : "") + std::string(out[i]);
    }
    return result.empty() ? "." : result;
}

std::optional<std::string> confinedPath(std::string_view path) {
    if (!path.empty() && path.front() == '/') {
        return std::nullopt;
    }
    std::vector<std::string_view> out;
    for (std::string_view part : splitSlashes(path)) {
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            if (out.empty()) {
                return std::nullopt;
            }
            out.pop_back();
        } else {
            out.push_back(part);
        }
    }
    std::string result;
    for (std::size_t i = 0; i < out.size(); ++i) {
        result += (i ? "/" : "") + std::string(out[i]);
    }
    return result.empty() ? "." : result;
}

bool isUrl(std::string_view location) {
    return location.find("://") != std::string_view::npos;
}

}  // namespace imagebuild::kickstart
