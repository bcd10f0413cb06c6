// Flattens a kickstart: every %include replaced by the file it names and
// every %ksappend by its content, so that the one result means to
// pykickstart exactly what the tree of files means. docs/kickstart.md has
// the rules and the pykickstart functions they come from.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/kickstart_source.hpp"

namespace imagebuild::kickstart {

struct Options {
    std::size_t maxDepth = 16;                      // nested %include levels
    std::size_t maxOutputBytes = 16 * 1024 * 1024;  // flattened text
    // Directives processed in all; bounds the work of trees that include
    // the same files over and over without producing text.
    std::size_t maxIncludes = 4096;
};

// One file read, in the order first read; path as the flattener opened it
// (relative to the bundle root in bundle mode).
struct FileRecord {
    std::string path;
    std::string sha256;  // of the raw bytes
    std::uint64_t size = 0;
};

// Where a line of the flattened text comes from: files[file], 1-based line.
struct LineOrigin {
    std::uint32_t file = 0;
    std::uint32_t line = 0;
};

struct FlattenResult {
    std::string text;
    std::vector<FileRecord> files;    // files[0] is the root kickstart
    std::vector<LineOrigin> origins;  // one per line of text
};

// A kickstart that cannot be flattened. what() is "file:line: message"
// ("file: message" when no line applies); file:line is the directive.
class KickstartError : public std::runtime_error {
public:
    KickstartError(std::string file, std::size_t line, std::string message);
    const std::string& file() const { return file_; }
    std::size_t line() const { return line_; }
    const std::string& message() const { return message_; }

private:
    std::string file_;
    std::size_t line_;
    std::string message_;
};

// Flattens rootFile, a path as the source understands it (relative to the
// bundle root for a confined source). Throws KickstartError. No global
// state: concurrent calls may share one FileSource.
FlattenResult flatten(const FileSource& source, const std::string& rootFile,
                      const Options& options = {});

}  // namespace imagebuild::kickstart
