// Where kickstart files come from. The flattener asks only two questions,
// "does this path exist?" and "give me this file", so the same code reads the
// real filesystem (imagebuildctl), a bundle directory confined to its root
// (the agent, for uploads) or an in-memory file set (tests, the fuzzer).
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace imagebuild::kickstart {

enum class SourceErrorKind { NotFound, IsDirectory, NotRegular, OutsideRoot, TooLarge, Io };

struct SourceError : std::runtime_error {
    SourceError(SourceErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind(kind) {}
    SourceErrorKind kind;
};

struct SourceFile {
    std::string content;   // raw bytes
    std::string identity;  // equal for two paths naming the same file (cycle detection)
};

class FileSource {
public:
    virtual ~FileSource() = default;
    // os.path.exists(): true for a file or a directory, symlinks followed.
    // A confined source throws SourceError(OutsideRoot) for a path that
    // leads outside its root, so such a path is rejected by name.
    virtual bool exists(const std::string& path) const = 0;
    // Reads a regular file of at most maxBytes; throws SourceError.
    virtual SourceFile read(const std::string& path, std::size_t maxBytes) const = 0;
    // Confined: paths are relative to a root and must stay inside it;
    // absolute paths, '..' escapes and URLs are refused by the flattener.
    virtual bool confined() const = 0;
};

// The real filesystem, relative paths against the working directory, as
// pykickstart opens them.
class DiskSource final : public FileSource {
public:
    bool exists(const std::string& path) const override;
    SourceFile read(const std::string& path, std::size_t maxBytes) const override;
    bool confined() const override { return false; }
};

// A bundle directory: every path is walked one component at a time from the
// root with openat(), so a symlink or '..' that leaves the root is caught
// whatever the filesystem looks like.
class BundleSource final : public FileSource {
public:
    // Throws SourceError when root is not a directory.
    explicit BundleSource(const std::filesystem::path& root);
    ~BundleSource() override;
    BundleSource(const BundleSource&) = delete;
    BundleSource& operator=(const BundleSource&) = delete;

    bool exists(const std::string& path) const override;
    SourceFile read(const std::string& path, std::size_t maxBytes) const override;
    bool confined() const override { return true; }

private:
    int rootFd_ = -1;
};

// Files held in memory, keyed by normalized relative path ("a/b.ks").
// Directories exist implicitly as prefixes. Confined like a bundle.
class MemorySource final : public FileSource {
public:
    // path is normalized ("./a//b.ks" is "a/b.ks"); std::invalid_argument
    // for a path that is empty, absolute or leaves the root.
    void add(const std::string& path, std::string content);
    bool exists(const std::string& path) const override;
    SourceFile read(const std::string& path, std::size_t maxBytes) const override;
    bool confined() const override { return true; }

private:
    bool isDirectory(const std::string& path) const;
    std::map<std::string, std::string> files_;
};

}  // namespace imagebuild::kickstart
