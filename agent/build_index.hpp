// The history index: one line per finished build, what ListBuilds and
// retention need of it, so the agent starts by reading one file instead of
// every record.json. A cache, never the truth: record.json is; a build
// missing from the index is read from its record (and indexed), an index
// line without a build directory is dropped. See docs/design.md, "History".
//
// Format (builds/../index): a header line, then one line per build, fields
// separated by tabs, '\\', tab and newline escaped as \\ \t \n. Lines are
// appended (a build's end, a pin); the last line of an id wins. The failure
// class is a 16th field, last; a line of 15 (from an older agent) has none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/build_record.hpp"

namespace imagebuild::agent {

// Its members are named as BuildInfo's, for the one filter
// (common/list_builds.hpp).
struct BuildSummary {
    std::string id;
    std::uint64_t number = 0;
    std::string type, arch, release, name, submitter, state, result;
    std::uint32_t submitterUid = 0;
    std::uint64_t submittedAt = 0, startedAt = 0, finishedAt = 0;
    std::string retryOf;
    bool pinned = false;
    std::string failureClass;

    bool finished() const { return !result.empty(); }
};

BuildSummary summaryOf(const BuildRecord& record);

std::string formatIndexLine(const BuildSummary& summary);
// nullopt for a line this agent cannot read (torn, or from a newer format).
std::optional<BuildSummary> parseIndexLine(std::string_view line);

struct IndexContents {
    std::vector<BuildSummary> rows;  // in file order, duplicates included
    bool readable = false;           // the file exists and has our header
};
IndexContents readIndex(const std::filesystem::path& path);
// Appends one line (O_APPEND: lines from one writer never interleave).
// Throws std::system_error.
void appendIndexLine(const std::filesystem::path& path, const BuildSummary& summary);
// Replaces the index with these rows, atomically. Throws std::system_error.
void writeIndex(const std::filesystem::path& path, const std::vector<BuildSummary>& rows);

}  // namespace imagebuild::agent
