#include "ctl/table.hpp"

#include <algorithm>

namespace imagebuild::ctl {

namespace {

constexpr const char* kReset = "\033[0m";

// Display width: count UTF-8 lead bytes, not continuation bytes, so a name
// with non-ASCII letters does not shift the columns.
std::size_t displayWidth(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::addRow(std::vector<Cell> row) {
    row.resize(headers_.size());
    rows_.push_back(std::move(row));
}

std::string Table::render(bool legend, bool colors) const {
    std::vector<std::size_t> widths(headers_.size(), 0);
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        widths[c] = legend ? displayWidth(headers_[c]) : 0;
        for (const auto& row : rows_) {
            widths[c] = std::max(widths[c], displayWidth(row[c].text));
        }
    }
    std::string out;
    auto emit = [&](std::size_t c, const std::string& text, const std::string& color) {
        bool last = c + 1 == headers_.size();
        if (colors && !color.empty()) {
            out += color + text + kReset;
        } else {
            out += text;
        }
        if (!last) {
            out.append(widths[c] - displayWidth(text) + 1, ' ');
        }
    };
    if (legend) {
        for (std::size_t c = 0; c < headers_.size(); ++c) {
            emit(c, headers_[c], "\033[1m");
        }
        out += '\n';
    }
    for (const auto& row : rows_) {
        for (std::size_t c = 0; c < headers_.size(); ++c) {
            emit(c, row[c].text, row[c].color);
        }
        out += '\n';
    }
    return out;
}

std::string stateColor(const std::string& state) {
    if (state == "succeeded") {
        return "\033[0;32m";
    }
    if (state == "failed" || state == "timed-out") {
        return "\033[0;31m";
    }
    if (state == "cancelled") {
        return "\033[0;33m";
    }
    if (state == "running") {
        return "\033[1;34m";
    }
    return "";
}

}  // namespace imagebuild::ctl
