#include "forwarder/kickstart_upload.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <set>

#include "common/kickstart_flatten.hpp"

namespace imagebuild::forwarder {

namespace {

constexpr const char* kField = "kickstart_file";

// libarchive is loaded on the first tar upload, not linked: with what it
// pulls in (libxml2, ICU, lzma, zstd, lz4, bzip2, acl) it would cost every
// idle forwarder about 1.4 MB of RSS for a request that is rare.
struct LibArchive {
    decltype(&::archive_read_new) archive_read_new = nullptr;
    decltype(&::archive_read_free) archive_read_free = nullptr;
    decltype(&::archive_read_support_filter_gzip) archive_read_support_filter_gzip = nullptr;
    decltype(&::archive_read_support_format_tar) archive_read_support_format_tar = nullptr;
    decltype(&::archive_read_open_memory) archive_read_open_memory = nullptr;
    decltype(&::archive_read_next_header) archive_read_next_header = nullptr;
    decltype(&::archive_read_data) archive_read_data = nullptr;
    decltype(&::archive_error_string) archive_error_string = nullptr;
    decltype(&::archive_entry_pathname) archive_entry_pathname = nullptr;
    decltype(&::archive_entry_hardlink) archive_entry_hardlink = nullptr;
    decltype(&::archive_entry_symlink) archive_entry_symlink = nullptr;
    decltype(&::archive_entry_filetype) archive_entry_filetype = nullptr;
    std::string error;  // set if it could not be loaded

    LibArchive() {
        void* handle = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            error = dlerror();
            return;
        }
        load(handle, "archive_read_new", archive_read_new);
        load(handle, "archive_read_free", archive_read_free);
        load(handle, "archive_read_support_filter_gzip", archive_read_support_filter_gzip);
        load(handle, "archive_read_support_format_tar", archive_read_support_format_tar);
        load(handle, "archive_read_open_memory", archive_read_open_memory);
        load(handle, "archive_read_next_header", archive_read_next_header);
        load(handle, "archive_read_data", archive_read_data);
        load(handle, "archive_error_string", archive_error_string);
        load(handle, "archive_entry_pathname", archive_entry_pathname);
        load(handle, "archive_entry_hardlink", archive_entry_hardlink);
        load(handle, "archive_entry_symlink", archive_entry_symlink);
        load(handle, "archive_entry_filetype", archive_entry_filetype);
    }

    template <typename F>
    void load(void* handle, const char* name, F& out) {
        out = reinterpret_cast<F>(dlsym(handle, name));
        if (!out && error.empty()) {
            error = fmt::format("libarchive.so.13 has no {}()", name);
        }
    }
};

const LibArchive& libarchive() {
    static const LibArchive lib;  // never unloaded
    if (!lib.error.empty()) {
        throw UploadError(500, "Internal",
                          "tar uploads need libarchive (Debian: libarchive13): " + lib.error);
    }
    return lib;
}

UploadError badEntry(const std::string& entry, const std::string& what) {
    return UploadError(400, "InvalidUpload", fmt::format("{}: entry '{}' {}", kField, entry, what));
}

UploadError tooLarge(std::size_t maxBytes) {
    return UploadError(
        413, "PayloadTooLarge",
        fmt::format("{}: the unpacked tree is larger than {} bytes (max_upload_bytes)", kField,
                    maxBytes));
}

// "./a//b.ks" -> "a/b.ks"; "" for the root itself ("./"). Refuses absolute
// paths and any '..' component, whatever it would resolve to.
std::string entryPath(const std::string& raw) {
    if (raw.empty()) {
        throw badEntry(raw, "has no name");
    }
    if (raw.front() == '/') {
        throw badEntry(raw, "is an absolute path; entries must be relative to the tree");
    }
    std::string out;
    std::size_t start = 0;
    while (start <= raw.size()) {
        auto end = std::min(raw.find('/', start), raw.size());
        auto part = raw.substr(start, end - start);
        if (part == "..") {
            throw badEntry(raw, "contains '..'; entries must stay inside the tree");
        }
        if (!part.empty() && part != ".") {
            out += (out.empty() ? "" : "/") + part;
        }
        start = end + 1;
    }
    return out;
}

using ArchivePtr = std::unique_ptr<archive, decltype(&::archive_read_free)>;

std::string archiveError(archive* a) {
    const auto& ar = libarchive();
    const char* text = ar.archive_error_string(a);
    return text ? text : "unknown error";
}

std::string readEntryData(archive* a, const std::string& name, std::size_t& total,
                          std::size_t maxBytes) {
    const auto& ar = libarchive();
    std::string content;
    char buffer[16 * 1024];
    for (;;) {
        la_ssize_t n = ar.archive_read_data(a, buffer, sizeof(buffer));
        if (n == 0) {
            return content;
        }
        if (n < 0) {
            throw badEntry(name, "cannot be read: " + archiveError(a));
        }
        total += static_cast<std::size_t>(n);
        if (total > maxBytes) {
            throw tooLarge(maxBytes);
        }
        content.append(buffer, static_cast<std::size_t>(n));
    }
}

std::string refusedType(archive_entry* entry) {
    const auto& ar = libarchive();
    if (const char* target = ar.archive_entry_hardlink(entry)) {
        return fmt::format("is a hard link to '{}'; only regular files and directories are allowed",
                           target);
    }
    switch (ar.archive_entry_filetype(entry)) {
        case AE_IFREG:
        case AE_IFDIR:
            return {};
        case AE_IFLNK: {
            const char* target = ar.archive_entry_symlink(entry);
            return fmt::format(
                "is a symbolic link to '{}'; only regular files and directories are allowed",
                target ? target : "");
        }
        case AE_IFCHR:
        case AE_IFBLK:
            return "is a device; only regular files and directories are allowed";
        case AE_IFIFO:
            return "is a FIFO; only regular files and directories are allowed";
        case AE_IFSOCK:
            return "is a socket; only regular files and directories are allowed";
        default:
            return "is not a regular file or a directory";
    }
}

bool topLevelKickstart(const std::string& path) {
    auto endsWith = [&](std::string_view suffix) {
        return path.size() > suffix.size() &&
               path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return path.find('/') == std::string::npos && (endsWith(".ks") || endsWith(".cfg"));
}

std::string flattenIn(const kickstart::MemorySource& source, const std::string& root,
                      const KickstartLimits& limits) {
    kickstart::Options options;
    options.maxOutputBytes = limits.maxOutputBytes;
    try {
        return kickstart::flatten(source, root, options).text;
    } catch (const kickstart::KickstartError& e) {
        throw UploadError(400, kInvalidKickstart, e.what());
    }
}

// The uploaded file's own name if it can name a file of a tree, else ks.cfg.
std::string singleFileName(const std::string& filename) {
    auto base = filename.substr(filename.find_last_of("/\\") + 1);
    return base.empty() || base == "." || base == ".." ? "ks.cfg" : base;
}

}  // namespace

bool looksLikeTar(std::string_view data) {
    if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
        static_cast<unsigned char>(data[1]) == 0x8b) {
        return true;
    }
    return data.size() >= 262 && data.substr(257, 5) == "ustar";
}

TarTree readTarTree(std::string_view data, std::size_t maxBytes, std::size_t maxEntries) {
    const auto& ar = libarchive();
    ArchivePtr a(ar.archive_read_new(), ar.archive_read_free);
    if (!a) {
        throw std::bad_alloc();
    }
    ar.archive_read_support_filter_gzip(a.get());
    ar.archive_read_support_format_tar(a.get());
    if (ar.archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) {
        throw UploadError(
            400, "InvalidUpload",
            fmt::format("{}: not a tar or tar.gz archive: {}", kField, archiveError(a.get())));
    }
    TarTree tree;
    std::set<std::string> seen;
    std::size_t total = 0;
    archive_entry* entry = nullptr;
    int rc;
    std::size_t entries = 0;
    while ((rc = ar.archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK ||
           rc == ARCHIVE_WARN) {
        // Empty entries cost no bytes but each costs memory here: counted.
        if (++entries > maxEntries) {
            throw UploadError(413, "PayloadTooLarge",
                              fmt::format("{}: the tar archive has more than {} entries "
                                          "(max_upload_entries)",
                                          kField, maxEntries));
        }
        const char* rawName = ar.archive_entry_pathname(entry);
        std::string raw = rawName ? rawName : "";
        auto path = entryPath(raw);
        if (auto refused = refusedType(entry); !refused.empty()) {
            throw badEntry(raw, refused);
        }
        if (ar.archive_entry_filetype(entry) == AE_IFDIR) {
            continue;
        }
        if (path.empty()) {
            throw badEntry(raw, "is a file without a name");
        }
        if (!seen.insert(path).second) {
            throw badEntry(raw, "appears twice in the archive");
        }
        auto content = readEntryData(a.get(), raw, total, maxBytes);
        try {
            tree.source.add(path, std::move(content));
        } catch (const std::invalid_argument& e) {
            throw badEntry(raw, e.what());
        }
        tree.files.push_back(path);
    }
    if (rc != ARCHIVE_EOF) {
        throw UploadError(
            400, "InvalidUpload",
            fmt::format("{}: the tar archive is damaged: {}", kField, archiveError(a.get())));
    }
    if (tree.files.empty()) {
        throw UploadError(400, "InvalidUpload",
                          fmt::format("{}: the tar archive holds no file", kField));
    }
    return tree;
}

std::string chooseMainFile(const std::vector<std::string>& files, const std::string& requested) {
    if (!requested.empty()) {
        auto wanted = requested;
        while (wanted.rfind("./", 0) == 0) {
            wanted.erase(0, 2);
        }
        if (std::find(files.begin(), files.end(), wanted) == files.end()) {
            throw UploadError(
                400, "InvalidSpec",
                fmt::format("kickstart_main: '{}' is not a file of the uploaded tree", requested));
        }
        return wanted;
    }
    if (std::find(files.begin(), files.end(), "ks.cfg") != files.end()) {
        return "ks.cfg";
    }
    std::vector<std::string> candidates;
    std::copy_if(files.begin(), files.end(), std::back_inserter(candidates), topLevelKickstart);
    if (candidates.size() == 1) {
        return candidates.front();
    }
    throw UploadError(
        400, "InvalidSpec",
        candidates.empty()
            ? std::string("kickstart_main is required: the tree has no ks.cfg and no top-level "
                          "*.ks or *.cfg file")
            : fmt::format("kickstart_main is required: the tree has no ks.cfg and {} top-level "
                          "kickstarts ({})",
                          candidates.size(), fmt::join(candidates, ", ")));
}

std::string flattenPastedKickstart(const std::string& text, const KickstartLimits& limits) {
    kickstart::MemorySource source;
    source.add("kickstart", text);
    return flattenIn(source, "kickstart", limits);
}

std::string flattenUploadedKickstart(std::string_view data, const std::string& filename,
                                     const std::string& mainFile, const KickstartLimits& limits) {
    if (!looksLikeTar(data)) {
        kickstart::MemorySource source;
        auto name = singleFileName(filename);
        try {
            source.add(name, std::string(data));
        } catch (const std::invalid_argument&) {
            name = "ks.cfg";
            source.add(name, std::string(data));
        }
        return flattenIn(source, name, limits);
    }
    auto tree = readTarTree(data, limits.maxUploadBytes, limits.maxEntries);
    return flattenIn(tree.source, chooseMainFile(tree.files, mainFile), limits);
}

}  // namespace imagebuild::forwarder
