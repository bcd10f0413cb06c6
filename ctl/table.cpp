#include "ctl/table.hpp"

#include <algorithm>

namespace imagebuild::ctl {

namespace {

constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kBold = "\033[1m";
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kMaxWidth = (1u << 24) - 1;  // Stored::width; wider cells misalign

// Display width: count UTF-8 lead bytes, not continuation bytes, so a name
// with non-ASCII letters does not shift the columns.
std::size_t displayWidth(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), widths_(headers_.size(), 0) {}

std::uint8_t Table::colorIndex(std::string_view color) {
    auto found = std::find(palette_.begin(), palette_.end(), color);
    if (found != palette_.end()) {
        return static_cast<std::uint8_t>(found - palette_.begin());
    }
    if (palette_.size() > 255) {
        return 0;  // more colours than anyone can tell apart: the rest plain
    }
    palette_.push_back(color);
    return static_cast<std::uint8_t>(palette_.size() - 1);
}

void Table::addRow(std::initializer_list<Cell> row) {
    if (blocks_.empty() || blocks_.back().rows == kBlockRows) {
        if (!blocks_.empty()) {
            bytesPerRow_ = blocks_.back().text.size() / kBlockRows + 8;
        }
        auto& block = blocks_.emplace_back();
        block.text.reserve(kBlockRows * bytesPerRow_);
        block.cells.reserve(kBlockRows * headers_.size());
    }
    auto& block = blocks_.back();
    auto cell = row.begin();
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        Cell added = cell != row.end() ? *cell++ : Cell{};
        auto width = std::min<std::size_t>(displayWidth(added.text), kMaxWidth);
        widths_[c] = std::max(widths_[c], width);
        block.cells.push_back({static_cast<std::uint32_t>(added.text.size()),
                               static_cast<std::uint32_t>(width), colorIndex(added.color)});
        block.text.append(added.text);
    }
    ++block.rows;
    ++rows_;
}

void Table::render(bool legend, bool colors,
                   const std::function<void(std::string_view)>& write) const {
    auto columns = headers_.size();
    auto widths = widths_;
    if (legend) {
        for (std::size_t c = 0; c < columns; ++c) {
            widths[c] = std::max(widths[c], displayWidth(headers_[c]));
        }
    }
    std::string out;
    out.reserve(kChunk + 4096);
    auto emit = [&](std::size_t c, std::string_view text, std::size_t width,
                    std::string_view color) {
        if (colors && !color.empty()) {
            out.append(color).append(text).append(kReset);
        } else {
            out.append(text);
        }
        if (c + 1 != columns) {
            out.append(widths[c] - width + 1, ' ');
        }
    };
    auto flush = [&] {
        if (!out.empty()) {
            write(out);
            out.clear();
        }
    };
    if (legend) {
        for (std::size_t c = 0; c < columns; ++c) {
            emit(c, headers_[c], displayWidth(headers_[c]), kBold);
        }
        out += '\n';
    }
    for (const auto& block : blocks_) {
        std::string_view text = block.text;
        const Stored* cell = block.cells.data();
        for (std::size_t r = 0; r < block.rows; ++r) {
            for (std::size_t c = 0; c < columns; ++c, ++cell) {
                emit(c, text.substr(0, cell->length), cell->width, palette_[cell->color]);
                text.remove_prefix(cell->length);
            }
            out += '\n';
            if (out.size() >= kChunk) {
                flush();
            }
        }
    }
    flush();
}

std::string Table::render(bool legend, bool colors) const {
    std::string all;
    render(legend, colors, [&all](std::string_view piece) { all.append(piece); });
    return all;
}

std::string_view stateColor(std::string_view state) {
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
