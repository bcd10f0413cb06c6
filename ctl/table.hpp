// Tables as systemctl prints them: upper-case headers (the legend), columns
// as wide as their widest cell, colours only when asked for.
//
// Built for long lists (`list --all` over 10,000 builds): a row's cells are
// copied into blocks of text as they are added, with 8 bytes of bookkeeping
// each, never copied again, and the table is written in one pass, in large
// pieces. On the machines we measured, fresh memory (page faults) is what
// a long list costs most, so the table touches as little as it can.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace imagebuild::ctl {

// One cell as it is added. The text is copied into the table, so it may
// view a temporary; the colour is kept as a view and must outlive the table
// (a literal, as stateColor() returns).
struct Cell {
    Cell(std::string_view t = {}, std::string_view c = {}) : text(t), color(c) {}
    Cell(const std::string& t, std::string_view c = {}) : text(t), color(c) {}
    Cell(const char* t, std::string_view c = {}) : text(t), color(c) {}
    std::string_view text;
    std::string_view color;  // an ANSI SGR sequence such as "\033[0;32m", or empty
};

class Table {
public:
    explicit Table(std::vector<std::string> headers);

    // A row has as many cells as there are headers; missing cells are empty.
    void addRow(std::initializer_list<Cell> row);
    std::size_t size() const { return rows_; }

    // legend: print the header line. colors: emit the cells' colours. The
    // last column is never padded, so lines carry no trailing blanks.
    // write: called with consecutive pieces of the text, each up to about
    // 64 KiB (the caller's one buffered write per piece).
    void render(bool legend, bool colors, const std::function<void(std::string_view)>& write) const;
    // The same, as one string.
    std::string render(bool legend, bool colors) const;

private:
    // A cell's text follows the previous cell's in its block; its display
    // width is counted once, when it is added. color indexes palette_.
    struct Stored {
        std::uint32_t length;
        std::uint32_t width : 24;
        std::uint32_t color : 8;
    };
    // Rows are kept in blocks of kBlockRows: growing never copies what is
    // already stored, and a block's memory is reserved once.
    struct Block {
        std::string text;
        std::vector<Stored> cells;
        std::size_t rows = 0;
    };
    static constexpr std::size_t kBlockRows = 1024;

    std::uint8_t colorIndex(std::string_view color);

    std::vector<std::string> headers_;
    std::vector<std::size_t> widths_;  // widest cell of each column, headers not counted
    std::vector<Block> blocks_;
    std::size_t bytesPerRow_ = 64;  // what a new block reserves per row
    std::vector<std::string_view> palette_{std::string_view()};  // 0: no colour
    std::size_t rows_ = 0;
};

// The colour a build state is shown in ("" for none).
std::string_view stateColor(std::string_view state);

}  // namespace imagebuild::ctl
