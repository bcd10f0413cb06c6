// `imagebuildctl build --config imagebuild.conf`: the build request file of
// the service imagebuild replaces (INI, Python ConfigParser style: [DEFAULT]
// values apply to every section). Each key is mapped to the Submit spec, or
// named in a warning (ignoring it changes nothing that is built) or in an
// error (ignoring it would build something else). imagebuildctl(1) documents
// the table; legacy_config.cpp is its one source.
#pragma once

#include <string>
#include <vector>

#include "common/build_spec.hpp"

namespace imagebuild::ctl {

struct LegacyRequest {
    BuildSpec spec;                     // kickstart left empty: the caller flattens
    std::string kickstartPath;          // `config`, resolved against the file's directory
    std::vector<std::string> warnings;  // one sentence per key not honoured
};

// Maps the text of a request file; fileName is used in messages and to
// resolve a relative `config`. Throws CtlError(kExitUsage) listing every
// error, one per line, each naming the section and the key.
LegacyRequest mapLegacyConfig(const std::string& text, const std::string& fileName);

// Reads the file first; a missing or unreadable file is an error naming it.
LegacyRequest loadLegacyConfig(const std::string& path);

}  // namespace imagebuild::ctl
