// libFuzzer target over an uploaded kickstart_file: tar (plain or gzip)
// unpacking with its limits, choosing the top file and flattening, as the
// forwarder does for POST /v1/builds. Refusals are UploadErrors; anything
// else escaping, or a tree over its limits, is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "forwarder/kickstart_upload.hpp"

namespace fw = imagebuild::forwarder;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    std::string_view data(reinterpret_cast<const char*>(bytes), size);
    fw::KickstartLimits limits;
    limits.maxUploadBytes = 64 * 1024;
    limits.maxOutputBytes = 64 * 1024;
    limits.maxEntries = 32;
    try {
        if (fw::looksLikeTar(data)) {
            auto tree = fw::readTarTree(data, limits.maxUploadBytes, limits.maxEntries);
            if (tree.files.empty() || tree.files.size() > limits.maxEntries) {
                std::abort();
            }
        }
        (void)fw::flattenUploadedKickstart(data, "upload.tar", "", limits);
    } catch (const fw::UploadError& e) {
        if (e.status != 400 && e.status != 413) {
            std::abort();  // 500 only when libarchive is missing
        }
    }
    return 0;
}
