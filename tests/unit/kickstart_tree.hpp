// A temporary directory for kickstart tests: files are written by the test,
// the directory is removed afterwards, and the working directory can be
// moved into it (pykickstart resolves "as given" paths against it).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace imagebuild::testing {

class KickstartTree {
public:
    KickstartTree() {
        std::string pattern = (std::filesystem::temp_directory_path() / "ks-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        root_ = pattern;
    }
    ~KickstartTree() {
        if (!oldCwd_.empty()) {
            std::filesystem::current_path(oldCwd_);
        }
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    KickstartTree(const KickstartTree&) = delete;
    KickstartTree& operator=(const KickstartTree&) = delete;

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

}  // namespace imagebuild::testing
