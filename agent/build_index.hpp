// The history index: one line per finished build, what ListBuilds and
// retention need of it, so the agent starts by reading one file instead of
// every record.json. A cache, never the truth: record.json is; a build
// missing from the index is read from its record (and indexed), an index
// line without a build directory is dropped. See docs/design.md, "History".
//
// Format (builds/../index): a header line, then one line per build, fields
// separated by tabs, '\\', tab and newline escaped as \\ \t \n. Lines are
// appended (a build's end, a pin); the last line of an id wins. Fields added
// later come last: the failure class (16th), the priority (17th); a line of
// an older agent has fewer, and those read as empty and 0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/build_record.hpp"
#include "agent/build_summaries.hpp"

namespace imagebuild::agent {

BuildSummary summaryOf(const BuildRecord& record);

std::string formatIndexLine(const SummaryView& summary);
// Fields with an escape are read into `scratch` (the view points there);
// the others into `line`.
struct IndexScratch {
    std::string fields[10];
};
// nullopt for a line this agent cannot read (torn, or from a newer format).
std::optional<SummaryView> parseIndexLine(std::string_view line, IndexScratch& scratch);
std::optional<BuildSummary> parseIndexLine(std::string_view line);

struct IndexRead {
    bool readable = false;  // the file exists and has our header
    std::size_t lines = 0;  // rows read, duplicates included
};
// Puts every line's row into `into` (a later line of a build replaces its
// earlier one).
IndexRead readIndex(const std::filesystem::path& path, BuildSummaries& into);
// Appends one line (O_APPEND: lines from one writer never interleave).
// Throws std::system_error.
void appendIndexLine(const std::filesystem::path& path, const SummaryView& summary);
// Replaces the index with the finished builds' rows, atomically. Throws
// std::system_error.
void writeIndex(const std::filesystem::path& path, const BuildSummaries& rows);

}  // namespace imagebuild::agent
