// A kickstart uploaded over HTTP, flattened in memory in bundle mode
// (docs/kickstart.md): pasted text, one file, or a tar (optionally gzip) of a
// tree with %include. Nothing is written to disk.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/kickstart_source.hpp"

namespace imagebuild::forwarder {

// An upload the forwarder refuses: `status` (400, 413) and the JSON error name.
class UploadError : public std::runtime_error {
public:
    UploadError(unsigned status, std::string error, const std::string& message)
        : std::runtime_error(message), status(status), error(std::move(error)) {}
    unsigned status;
    std::string error;
};

// The JSON error name of a kickstart that cannot be flattened.
inline constexpr const char* kInvalidKickstart = "InvalidKickstart";

struct TarTree {
    kickstart::MemorySource source;
    std::vector<std::string> files;  // normalized paths ("a/b.ks"), archive order
};

// By content: gzip magic, or a ustar header. Anything else is one kickstart file.
bool looksLikeTar(std::string_view data);

// Reads a tar (plain or gzip) into memory. Only regular files and directories
// may be in it: '..', absolute paths, links and devices are refused naming
// the entry (400 InvalidUpload); more than maxBytes unpacked, or more than
// maxEntries entries (directories count), is 413 naming the limit.
TarTree readTarTree(std::string_view data, std::size_t maxBytes, std::size_t maxEntries = 1000);

// The top file of a tree: `requested` if given (it must be one of `files`),
// else ks.cfg, else the only top-level *.ks / *.cfg; 400 naming kickstart_main.
std::string chooseMainFile(const std::vector<std::string>& files, const std::string& requested);

struct KickstartLimits {
    std::size_t maxUploadBytes = 16 * 1024 * 1024;  // a tar unpacked
    std::size_t maxOutputBytes = 16 * 1024 * 1024;  // the flattened text
    std::size_t maxEntries = 1000;                  // a tar's entries
};

// Pasted text: a one-file tree named "kickstart", so any %include fails by
// name. Throws UploadError (400 InvalidKickstart "kickstart:3: ...").
std::string flattenPastedKickstart(const std::string& text, const KickstartLimits& limits);

// An uploaded file (`filename` as the client sent it): a tar of a tree whose
// top file is `mainFile` (or the default above), or a single kickstart.
std::string flattenUploadedKickstart(std::string_view data, const std::string& filename,
                                     const std::string& mainFile, const KickstartLimits& limits);

}  // namespace imagebuild::forwarder
