// bench/ksflatten: flattens a generated tree (1,000 files, 5 levels deep,
// about 10 MB) and, in the same run, cats the same files; prints files/s,
// MB/s and our time as a ratio of cat's. Target: within 3x of cat.
// Both wall time and CPU time (ours: this process; cat: the child's rusage)
// are shown: on a loaded machine the CPU ratio is the steadier one.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/kickstart_flatten.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace ks = imagebuild::kickstart;

constexpr int kFiles = 1000;
constexpr std::size_t kBytesPerFile = 10 * 1024 * 1024 / kFiles;
constexpr int kRuns = 15;

std::string name(int index, int level) {
    return level == 0 ? "main.ks" : fmt::format("l{}/f{:04}.ks", level, index);
}

// Ordinary kickstart text: commands, comments, a %packages and a %post.
std::string body(int index, std::size_t bytes) {
    std::string text = fmt::format("# generated file {}\nlang en_US.UTF-8\n", index);
    text += "%packages\n";
    for (int k = 0; text.size() < bytes / 3; ++k) {
        text += fmt::format("package-{}-{}\n# a comment about package {}\n", index, k, k);
    }
    text += "%end\n%post --log=/root/post.log\n";
    for (int k = 0; text.size() + 40 < bytes; ++k) {
        text += fmt::format("echo \"step {} of file {}\" >> /var/log/x\n", k, index);
    }
    return text + "%end\n";
}

// Levels of 1, 6, 36, 216 and 741 files; each file includes its children.
std::vector<std::string> generate(const fs::path& dir) {
    const int levelSize[] = {1, 6, 36, 216, 741};
    std::vector<std::pair<int, int>> nodes;  // (index, level)
    for (int level = 0, index = 0; level < 5; ++level) {
        for (int k = 0; k < levelSize[level]; ++k) {
            nodes.emplace_back(index++, level);
        }
        fs::create_directories(dir / fmt::format("l{}", level));
    }
    std::vector<std::string> names;
    int firstOfLevel[6] = {0, 1, 7, 43, 259, 1000};
    for (auto [index, level] : nodes) {
        std::string includes;
        if (level < 4) {
            int pos = index - firstOfLevel[level];
            int perParent = (levelSize[level + 1] + levelSize[level] - 1) / levelSize[level];
            for (int c = pos * perParent; c < std::min((pos + 1) * perParent, levelSize[level + 1]);
                 ++c) {
                includes += "%include " + name(firstOfLevel[level + 1] + c, level + 1) + "\n";
            }
        }
        std::ofstream(dir / name(index, level))
            << includes << body(index, kBytesPerFile - includes.size());
        names.push_back(name(index, level));
    }
    return names;
}

struct Times {
    double wall = 0;
    double cpu = 0;
};

double cpuNow() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double tv(const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// Wall time of work; CPU time is work's return value when it measures a
// child, else this process's.
Times measure(const std::function<double()>& work) {
    auto start = std::chrono::steady_clock::now();
    double cpuStart = cpuNow();
    double childCpu = work();
    Times t;
    t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    t.cpu = childCpu >= 0 ? childCpu : cpuNow() - cpuStart;
    return t;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Runs cat over files into /dev/null; returns cat's CPU time.
double runCat(const std::vector<std::string>& files) {
    std::vector<char*> argv{const_cast<char*>("cat")};
    for (const auto& f : files) {
        argv.push_back(const_cast<char*>(f.c_str()));
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    if (posix_spawnp(&pid, "cat", &actions, nullptr, argv.data(), environ) != 0) {
        std::perror("cat");
        std::exit(1);
    }
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "cat failed\n");
        std::exit(1);
    }
    return tv(usage.ru_utime) + tv(usage.ru_stime);
}

}  // namespace

int main() {
    std::string pattern = (fs::temp_directory_path() / "ksflatten-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    fs::path dir = pattern;
    auto names = generate(dir);
    fs::current_path(dir);
    std::uintmax_t bytes = 0;
    for (const auto& n : names) {
        bytes += fs::file_size(n);
    }
    ks::DiskSource disk;
    int devNull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    std::size_t outBytes = 0;
    auto ours = [&] {
        auto result = ks::flatten(disk, "main.ks");
        outBytes = result.text.size();
        if (::write(devNull, result.text.data(), result.text.size()) < 0) {
            std::exit(1);
        }
        return -1.0;
    };
    auto cat = [&] {
        return runCat(names);
    };
    ours();  // warm the page cache and check the tree flattens
    cat();
    std::vector<double> oursWall, oursCpu, catWall, catCpu;
    for (int i = 0; i < kRuns; ++i) {  // interleaved, so both see the same machine
        Times o = measure(ours);
        Times c = measure(cat);
        oursWall.push_back(o.wall);
        oursCpu.push_back(o.cpu);
        catWall.push_back(c.wall);
        catCpu.push_back(c.cpu);
    }
    double mb = static_cast<double>(bytes) / 1e6;
    double files = static_cast<double>(names.size());
    fmt::print("ksflatten bench: {} files, {:.1f} MB in, {:.1f} MB out, median of {} runs\n",
               names.size(), mb, static_cast<double>(outBytes) / 1e6, kRuns);
    auto row = [&](const char* what, double wall, double cpu) {
        fmt::print("  {:<10} wall {:8.2f} ms ({:7.0f} files/s, {:7.1f} MB/s)  cpu {:8.2f} ms\n",
                   what, wall * 1e3, files / wall, mb / wall, cpu * 1e3);
    };
    row("ksflatten", median(oursWall), median(oursCpu));
    row("cat", median(catWall), median(catCpu));
    fmt::print("  ratio ksflatten/cat: wall {:.2f}x, cpu {:.2f}x (target: within 3x)\n",
               median(oursWall) / median(catWall), median(oursCpu) / median(catCpu));
    ::close(devNull);
    fs::current_path("/");
    fs::remove_all(dir);
    return 0;
}
