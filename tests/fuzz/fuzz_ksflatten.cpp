// libFuzzer target over the kickstart flattener and lint, with an in-memory
// file set. The input is "main.ks" content, then any number of
// "@@@<name>\n<content>" files. docs/kickstart.md says how to run it.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "common/kickstart_flatten.hpp"
#include "common/kickstart_lint.hpp"
#include "common/kickstart_text.hpp"

namespace ks = imagebuild::kickstart;

namespace {

ks::MemorySource parse(std::string_view data) {
    ks::MemorySource source;
    std::size_t cut = data.find("@@@");
    source.add("main.ks", std::string(data.substr(0, cut)));
    while (cut != std::string_view::npos) {
        data.remove_prefix(cut + 3);
        cut = data.find("@@@");
        std::string_view file = data.substr(0, cut);
        std::size_t nl = file.find('\n');
        std::string name(file.substr(0, nl));
        std::string content(nl == std::string_view::npos ? "" : file.substr(nl + 1));
        try {
            source.add(name, std::move(content));
        } catch (const std::invalid_argument&) {
            // Not a file name a bundle can hold: leave it out.
        }
    }
    return source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto source = parse(std::string_view(reinterpret_cast<const char*>(data), size));
    ks::Options options;
    options.maxOutputBytes = 1 << 16;
    options.maxIncludes = 256;
    try {
        auto result = ks::flatten(source, "main.ks", options);
        // Invariants: within the limit, one origin per line, every origin valid.
        if (result.text.size() > options.maxOutputBytes ||
            result.origins.size() != ks::splitLines(result.text).size()) {
            std::abort();
        }
        for (const auto& origin : result.origins) {
            if (origin.file >= result.files.size() || origin.line == 0) {
                std::abort();
            }
        }
        for (const auto& warning : ks::lint(result)) {
            if (warning.str().empty()) {
                std::abort();
            }
        }
    } catch (const ks::KickstartError& e) {
        if (e.file().empty() || e.message().empty()) {
            std::abort();
        }
    }
    return 0;
}
