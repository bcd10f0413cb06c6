// Kickstart uploads for the forwarder tests: tars forged with libarchive (any
// entry, gzip if asked) and the check of an UploadError's status, name and text.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "forwarder/kickstart_upload.hpp"

namespace imagebuild::testing {

struct Entry {
    Entry(std::string path, std::string content, unsigned type = AE_IFREG, std::string link = "",
          bool hardlink = false)
        : path(std::move(path)),
          content(std::move(content)),
          type(type),
          link(std::move(link)),
          hardlink(hardlink) {}
    std::string path;
    std::string content;
    unsigned type;
    std::string link;  // symlink target, or hard link target if hardlink
    bool hardlink;
};

// A tar (gzip if asked) made with libarchive, so that any entry can be forged.
inline std::string makeTar(const std::vector<Entry>& entries, bool gzip = false) {
    std::vector<char> buffer(1 << 20);
    std::size_t used = 0;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) {
        archive_write_add_filter_gzip(a);
    }
    archive_write_open_memory(a, buffer.data(), buffer.size(), &used);
    for (const auto& e : entries) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.path.c_str());
        archive_entry_set_filetype(entry, e.type);
        archive_entry_set_perm(entry, 0644);
        if (e.hardlink) {
            archive_entry_set_hardlink(entry, e.link.c_str());
        } else if (e.type == AE_IFLNK) {
            archive_entry_set_symlink(entry, e.link.c_str());
        }
        archive_entry_set_size(entry, e.type == AE_IFREG && !e.hardlink
                                          ? static_cast<la_int64_t>(e.content.size())
                                          : 0);
        archive_write_header(a, entry);
        if (e.type == AE_IFREG && !e.hardlink) {
            archive_write_data(a, e.content.data(), e.content.size());
        }
        archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
    return std::string(buffer.data(), used);
}

inline void expectUploadError(const std::function<void()>& f, unsigned status,
                              const std::string& error, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "no error; expected " << needle;
    } catch (const forwarder::UploadError& e) {
        EXPECT_EQ(e.status, status) << e.what();
        EXPECT_EQ(e.error, error) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

// A main file including a part, as a tree to upload.
inline const std::string kBase = "lang en_US.UTF-8\n%include parts/repo.ks\n";
inline const std::string kRepo = "repo --name=fedora --baseurl=http://example/\n";

}  // namespace imagebuild::testing
