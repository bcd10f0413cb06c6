// Tables as systemctl prints them: upper-case headers (the legend), columns
// as wide as their widest cell, colours only when asked for.
#pragma once

#include <string>
#include <vector>

namespace imagebuild::ctl {

struct Cell {
    Cell(std::string t = {}, std::string c = {}) : text(std::move(t)), color(std::move(c)) {}
    std::string text;
    std::string color;  // an ANSI SGR sequence such as "\033[0;32m", or empty
};

class Table {
public:
    explicit Table(std::vector<std::string> headers);

    // A row has as many cells as there are headers; missing cells are empty.
    void addRow(std::vector<Cell> row);
    std::size_t size() const { return rows_.size(); }

    // legend: print the header line. colors: emit the cells' colours. The
    // last column is never padded, so lines carry no trailing blanks.
    std::string render(bool legend, bool colors) const;

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<Cell>> rows_;
};

// The colour a build state is shown in ("" for none).
std::string stateColor(const std::string& state);

}  // namespace imagebuild::ctl
