#include "agent/cgroup_usage.hpp"

#include <charconv>
#include <sstream>

#include "common/atomic_file.hpp"

namespace imagebuild::agent {

namespace fs = std::filesystem;

namespace {

std::optional<std::uint64_t> number(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.remove_suffix(1);
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return n;
}

std::optional<std::uint64_t> numberIn(const fs::path& file) {
    auto text = readFile(file);
    return text ? number(*text) : std::nullopt;
}

// v1's blkio.throttle.io_service_bytes: "<dev> Read N", "<dev> Write N", ...
std::pair<std::optional<std::uint64_t>, std::optional<std::uint64_t>> bytesOfBlkio(
    std::string_view text) {
    std::optional<std::uint64_t> read, write;
    std::istringstream in{std::string(text)};
    std::string device, op;
    std::uint64_t n = 0;
    while (in >> device) {
        if (device == "Total") {
            in >> n;
            continue;
        }
        if (!(in >> op >> n)) {
            break;
        }
        if (op == "Read") {
            read = read.value_or(0) + n;
        } else if (op == "Write") {
            write = write.value_or(0) + n;
        }
    }
    return {read, write};
}

}  // namespace

std::optional<std::uint64_t> cpuUsecOfCpuStat(std::string_view cpuStat) {
    std::istringstream in{std::string(cpuStat)};
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value) {
        if (key == "usage_usec") {
            return value;
        }
    }
    return std::nullopt;
}

std::pair<std::optional<std::uint64_t>, std::optional<std::uint64_t>> bytesOfIoStat(
    std::string_view ioStat) {
    std::optional<std::uint64_t> read, write;
    std::istringstream in{std::string(ioStat)};
    std::string word;
    while (in >> word) {
        auto eq = word.find('=');
        if (eq == std::string::npos) {
            continue;  // the device, "MAJ:MIN"
        }
        auto value = number(std::string_view(word).substr(eq + 1));
        if (!value) {
            continue;
        }
        if (word.starts_with("rbytes=")) {
            read = read.value_or(0) + *value;
        } else if (word.starts_with("wbytes=")) {
            write = write.value_or(0) + *value;
        }
    }
    return {read, write};
}

std::string unifiedCgroupOf(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("0::")) {
            auto path = line.substr(3);
            constexpr std::string_view kControl = "/.control";
            if (path.ends_with(kControl)) {
                path.resize(path.size() - kControl.size());
            }
            return path;
        }
    }
    return {};
}

ResourceUsage readCgroupUsage(const fs::path& root, const std::string& path) {
    ResourceUsage usage;
    auto relative = fs::path(path).relative_path();
    for (const auto& mount : {root, root / "unified"}) {
        auto dir = mount / relative;
        auto cpuStat = readFile(dir / "cpu.stat");
        if (!cpuStat) {
            continue;
        }
        usage.cpuUsec = cpuUsecOfCpuStat(*cpuStat);
        usage.memoryPeakBytes = numberIn(dir / "memory.peak");
        if (auto ioStat = readFile(dir / "io.stat")) {
            // The file exists only with the io controller: no line is no IO.
            auto [read, write] = bytesOfIoStat(*ioStat);
            usage.ioReadBytes = read.value_or(0);
            usage.ioWriteBytes = write.value_or(0);
        }
        break;
    }
    // A hybrid host: systemd puts the unit at the same path in the v1
    // hierarchies whose accounting it enabled; elsewhere the path is absent.
    if (!usage.cpuUsec) {
        if (auto ns = numberIn(root / "cpuacct" / relative / "cpuacct.usage")) {
            usage.cpuUsec = *ns / 1000;
        }
    }
    if (!usage.memoryPeakBytes) {
        usage.memoryPeakBytes = numberIn(root / "memory" / relative / "memory.max_usage_in_bytes");
    }
    if (!usage.ioReadBytes && !usage.ioWriteBytes) {
        if (auto text = readFile(root / "blkio" / relative / "blkio.throttle.io_service_bytes")) {
            auto [read, write] = bytesOfBlkio(*text);
            usage.ioReadBytes = read.value_or(0);
            usage.ioWriteBytes = write.value_or(0);
        }
    }
    return usage;
}

}  // namespace imagebuild::agent
