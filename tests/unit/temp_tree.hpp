// A temporary directory for tests: files are written by the test, the
// directory is removed afterwards, and the working directory can be moved
// into it (pykickstart resolves "as given" paths against it).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace imagebuild::testing {

class TempTree {
public:
    TempTree() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "imagebuild-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        root_ = pattern;
    }
    ~TempTree() {
        if (!oldCwd_.empty()) {
            std::filesystem::current_path(oldCwd_);
        }
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path path(const std::string& relative) const { return root_ / relative; }

    void write(const std::string& relative, const std::string& content) const {
        auto file = root_ / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream out(file, std::ios::binary);
        out << content;
    }
    std::string read(const std::string& relative) const {
        std::ifstream in(root_ / relative, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    void enter() {
        oldCwd_ = std::filesystem::current_path();
        std::filesystem::current_path(root_);
    }

private:
    std::filesystem::path root_;
    std::filesystem::path oldCwd_;
};

// The kickstart tests' name for it.
using KickstartTree = TempTree;

}  // namespace imagebuild::testing
