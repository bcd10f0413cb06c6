#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "ctl/table.hpp"
#include "ctl/terminal.hpp"
#include "ctl/time_format.hpp"

using namespace imagebuild::ctl;

TEST(CtlTable, ColumnsAlignWithALegend) {
    Table table({"ID", "STATE"});
    table.addRow({{"host-1"}, {"running"}});
    table.addRow({{"h-22"}, {"queued"}});
    EXPECT_EQ(table.render(true, false),
              "ID     STATE\n"
              "host-1 running\n"
              "h-22   queued\n");
}

TEST(CtlTable, NoLegendDropsTheHeaderAndItsWidth) {
    Table table({"IDENTIFIER", "X"});
    table.addRow({{"a"}, {"b"}});
    EXPECT_EQ(table.render(false, false), "a b\n");
}

TEST(CtlTable, ColorsOnlyWhenAsked) {
    Table table({"ID", "STATE"});
    table.addRow({{"a-1"}, {"failed", stateColor("failed")}});
    auto plain = table.render(false, false);
    EXPECT_EQ(plain.find('\033'), std::string::npos);
    auto colored = table.render(false, true);
    EXPECT_NE(colored.find("\033[0;31mfailed\033[0m"), std::string::npos);
}

TEST(CtlTable, ColoredCellsDoNotShiftColumns) {
    Table table({"A", "B"});
    table.addRow({{"x", stateColor("succeeded")}, {"1"}});
    table.addRow({{"longer"}, {"2"}});
    auto colored = table.render(false, true);
    EXPECT_NE(colored.find("\033[0;32mx\033[0m      1\n"), std::string::npos) << colored;
}

TEST(CtlTable, UnicodeWidthCountsCharacters) {
    Table table({"N", "V"});
    table.addRow({{"é"}, {"1"}});
    table.addRow({{"ab"}, {"2"}});
    EXPECT_EQ(table.render(false, false), "é  1\nab 2\n");
}

TEST(CtlTable, ShortRowsArePadded) {
    Table table({"A", "B", "C"});
    table.addRow({{"1"}});
    EXPECT_EQ(table.render(false, false), "1  \n");
}

TEST(CtlTable, CellsMayViewTemporaries) {
    Table table({"A", "B"});
    for (int i = 0; i < 3; ++i) {
        table.addRow({{std::to_string(i * 100)}, {std::string(static_cast<std::size_t>(i), 'x')}});
    }
    EXPECT_EQ(table.render(false, false), "0   \n100 x\n200 xx\n");
}

TEST(CtlTable, LongTablesAreWrittenInPiecesThatJoinToTheWhole) {
    Table table({"ID", "STATE", "N"});
    for (int i = 0; i < 20000; ++i) {
        auto state = i % 3 == 0 ? "failed" : "succeeded";
        table.addRow({{"host-" + std::to_string(i)}, {state, stateColor(state)}, {"é"}});
    }
    EXPECT_EQ(table.size(), 20000u);
    for (bool colors : {false, true}) {
        std::string joined;
        std::size_t pieces = 0;
        table.render(true, colors, [&](std::string_view piece) {
            EXPECT_FALSE(piece.empty());
            EXPECT_LE(piece.size(), 70u * 1024);
            EXPECT_EQ(piece.back(), '\n');  // whole lines only
            joined.append(piece);
            ++pieces;
        });
        EXPECT_GT(pieces, 1u);
        EXPECT_EQ(joined, table.render(true, colors));
    }
    auto plain = table.render(true, false);
    EXPECT_TRUE(
        plain.starts_with("ID         STATE     N\n"
                          "host-0     failed    é\n"))
        << plain.substr(0, 100);
    EXPECT_NE(plain.find("\nhost-19999 succeeded é\n"), std::string::npos);
    auto colored = table.render(false, true);
    EXPECT_EQ(colored.substr(0, colored.find('\n')), "host-0     \033[0;31mfailed\033[0m    é");
}

TEST(CtlTable, AnEmptyTableIsItsLegend) {
    Table table({"ID", "STATE"});
    EXPECT_EQ(table.render(true, false), "ID STATE\n");
    EXPECT_EQ(table.render(false, false), "");
    std::size_t pieces = 0;
    table.render(false, false, [&](std::string_view) { ++pieces; });
    EXPECT_EQ(pieces, 0u);
}
