#include "forwarder/byte_range.hpp"

#include <charconv>
#include <optional>

namespace imagebuild::forwarder {

namespace {

std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

ByteRange parseByteRange(std::string_view header, std::uint64_t size) {
    ByteRange whole;
    constexpr std::string_view unit = "bytes=";
    header = trim(header);
    if (header.substr(0, unit.size()) != unit) {
        return whole;
    }
    auto spec = trim(header.substr(unit.size()));
    if (spec.find(',') != std::string_view::npos) {
        return whole;
    }
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) {
        return whole;
    }
    auto firstText = trim(spec.substr(0, dash));
    auto lastText = trim(spec.substr(dash + 1));
    ByteRange range;
    range.kind = ByteRange::Kind::Partial;
    if (firstText.empty()) {  // "-n": the last n bytes
        auto n = number(lastText);
        if (!n) {
            return whole;
        }
        if (*n == 0 || size == 0) {
            range.kind = ByteRange::Kind::Unsatisfiable;
            return range;
        }
        range.first = *n >= size ? 0 : size - *n;
        range.last = size - 1;
        return range;
    }
    auto first = number(firstText);
    auto last = lastText.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : number(lastText);
    if (!first || !last || *last < *first) {
        return whole;
    }
    if (*first >= size) {
        range.kind = ByteRange::Kind::Unsatisfiable;
        return range;
    }
    range.first = *first;
    range.last = std::min(*last, size - 1);
    return range;
}

}  // namespace imagebuild::forwarder
