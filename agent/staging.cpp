#include "agent/staging.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "agent/capture_output.hpp"
#include "common/atomic_file.hpp"
#include "common/build_json.hpp"
#include "common/build_log.hpp"
#include "common/hashed_copy.hpp"
#include "common/unique_fd.hpp"

namespace fs = std::filesystem;

namespace imagebuild::agent {

namespace {

constexpr std::size_t kLogChunk = 1 << 16;

class Stager {
public:
    Stager(const fs::path& buildDir, const BuildRecord& record, const StagingOptions& options)
        : buildDir_(buildDir), record_(record), options_(options) {
        result_.dir = buildDir / "artifacts";
    }

    StagingResult run() {
        std::error_code ec;
        fs::create_directories(result_.dir, ec);
        if (ec) {
            problem(fmt::format("cannot create {}: {}", result_.dir.string(), ec.message()));
            return std::move(result_);
        }
        stageImages();
        stageCopy(buildDir_ / "ks.cfg", "ks.cfg");
        stageLog();
        stageManifest();
        stageSums();
        copyElsewhere();
        return std::move(result_);
    }

private:
    void problem(std::string text) { result_.problems.push_back(std::move(text)); }

    void stageImages() {
        auto found = findArtifacts(buildDir_ / "out", options_.artifactPatterns);
        if (found.empty() && record_.result == state::kSucceeded) {
            problem("the build succeeded but produced no file matching its type's artifacts");
        }
        for (const auto& artifact : found) {
            auto name = fs::path(artifact.name).filename().string();
            if (!isSafeArtifactName(name) || name == "ks.cfg" || name == "build.log" ||
                name == "manifest.json" || name == "SHA256SUMS" || staged(name)) {
                problem(fmt::format("artifact {} not staged: its name is taken or unsafe",
                                    artifact.name));
                continue;
            }
            stageCopy(artifact.path, name);
        }
    }

    bool staged(const std::string& name) const {
        return std::any_of(result_.files.begin(), result_.files.end(),
                           [&](const Artifact& a) { return a.name == name; });
    }

    void stageCopy(const fs::path& source, const std::string& name) {
        try {
            auto digest = copyFileHashing(source, result_.dir / name);
            result_.files.push_back(
                {name, (result_.dir / name).string(), digest.size, digest.sha256});
        } catch (const std::exception& e) {
            problem(fmt::format("cannot stage {}: {}", name, e.what()));
        }
    }

    void stageWritten(const std::string& name) {
        try {
            auto digest = hashFile(result_.dir / name);
            result_.files.push_back(
                {name, (result_.dir / name).string(), digest.size, digest.sha256});
        } catch (const std::exception& e) {
            problem(fmt::format("cannot hash {}: {}", name, e.what()));
        }
    }

    // Every line of the build up to its end mark (the hook wrote it after
    // journald had stored the build's output: common/build_log.hpp), with
    // in-line notices of lines lost.
    void stageLog() {
        try {
            BuildLog log(record_.id, {false, true});
            writeFileAtomicWith(result_.dir / "build.log", 0644, [&](int fd, const fs::path& temp) {
                std::string chunk;
                auto add = [&](const LogLine& line) {
                    chunk += formatShort(line);
                    chunk += '\n';
                    if (chunk.size() >= kLogChunk) {
                        writeAllToFd(fd, chunk, temp);
                        chunk.clear();
                    }
                };
                while (auto line = log.next()) {
                    add(*line);
                }
                if (!log.ended()) {
                    for (const auto& line : log.endWithoutMark(record_.result)) {
                        add(line);
                    }
                }
                writeAllToFd(fd, chunk, temp);
            });
            stageWritten("build.log");
        } catch (const std::exception& e) {
            problem(fmt::format("cannot write build.log: {}", e.what()));
        }
    }

    void stageManifest() {
        nlohmann::json tools = nlohmann::json::object();
        for (const auto& tool : options_.tools) {
            tools[tool] = toolVersion(tool);
        }
        // The build's JSON as every client sees it (common/build_json.hpp),
        // its artifacts the files staged so far; its spec as the spec codec
        // writes it, but for what is not public (the webhook URL) or is
        // staged beside it (ks.cfg); then what only staging knows.
        auto info = buildInfoOf(record_);
        if (!options_.host.empty()) {
            info.host = options_.host;
        }
        info.artifacts = result_.files;
        nlohmann::json manifest = info;
        BuildSpec spec = record_.spec;
        spec.webhook.clear();
        spec.submitter.reset();
        manifest["spec"] = specToJson(spec, SpecJson::kEveryKey);
        manifest["spec"].erase("kickstart");
        manifest["spec"].erase("webhook");
        manifest["spec"].erase("rpms");  // side_packages says what they were
        manifest["side_packages"] = record_.sidePackages;
        manifest["files"] = result_.files;
        manifest["tools"] = tools;
        manifest["problems"] = result_.problems;
        try {
            writeFileAtomic(result_.dir / "manifest.json", manifest.dump(2) + "\n");
            stageWritten("manifest.json");
        } catch (const std::exception& e) {
            problem(fmt::format("cannot write manifest.json: {}", e.what()));
        }
    }

    void stageSums() {
        try {
            writeFileAtomic(result_.dir / "SHA256SUMS", formatSha256Sums(result_.files));
            stageWritten("SHA256SUMS");
        } catch (const std::exception& e) {
            problem(fmt::format("cannot write SHA256SUMS: {}", e.what()));
        }
    }

    // Each file goes to <copy_to>/<id>/ under a temporary name and is renamed
    // into place, so nobody there ever sees half a file; its hash is checked
    // against the staged one.
    void copyElsewhere() {
        if (options_.copyTo.empty()) {
            return;
        }
        auto target = options_.copyTo / record_.id;
        std::error_code ec;
        fs::create_directories(target, ec);
        if (ec) {
            problem(fmt::format("cannot create {}: {}", target.string(), ec.message()));
            return;
        }
        for (const auto& file : result_.files) {
            try {
                auto digest = copyFileHashing(file.path, target / file.name);
                if (digest.sha256 != file.sha256) {
                    problem(fmt::format("copy of {} in {} differs from the staged file", file.name,
                                        target.string()));
                }
            } catch (const std::exception& e) {
                problem(
                    fmt::format("cannot copy {} to {}: {}", file.name, target.string(), e.what()));
            }
        }
    }

    const fs::path& buildDir_;
    const BuildRecord& record_;
    const StagingOptions& options_;
    StagingResult result_;
};

std::string firstLine(const std::string& text) {
    auto end = text.find('\n');
    return text.substr(0, end);
}

}  // namespace

std::vector<Artifact> findArtifacts(const fs::path& outDir,
                                    const std::vector<std::string>& patterns) {
    std::vector<Artifact> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(outDir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->is_symlink(ec)) {
            continue;
        }
        auto rel = fs::relative(it->path(), outDir, ec).string();
        bool match = std::any_of(patterns.begin(), patterns.end(), [&rel](const std::string& p) {
            return ::fnmatch(p.c_str(), rel.c_str(), FNM_PATHNAME) == 0;
        });
        if (match) {
            out.push_back(Artifact{rel, it->path().string(), it->file_size(ec), ""});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const Artifact& a, const Artifact& b) { return a.name < b.name; });
    return out;
}

void saveStagingResult(const fs::path& buildDir, const StagingResult& result) {
    nlohmann::json j{{"dir", result.dir.string()},
                     {"files", result.files},
                     {"problems", result.problems},
                     {"staged_at", result.stagedAt}};
    writeFileAtomic(buildDir / "staging.json", j.dump(2) + "\n");
}

std::optional<StagingResult> loadStagingResult(const fs::path& buildDir) {
    try {
        auto text = readFile(buildDir / "staging.json");
        if (!text) {
            return std::nullopt;
        }
        auto j = nlohmann::json::parse(*text);
        return StagingResult{j.at("dir").get<std::string>(),
                             j.at("files").get<std::vector<Artifact>>(),
                             j.at("problems").get<std::vector<std::string>>(),
                             j.value("staged_at", std::uint64_t{0})};
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string toolVersion(const std::string& program) {
    for (const char* flag : {"--version", "-version"}) {
        // A tool that rejects the flag (dash: "Illegal option --") has no
        // version to report, whatever it printed.
        auto captured = captureOutput({program, flag});
        auto line = captured.failed ? std::string() : firstLine(captured.text);
        if (!line.empty()) {
            return line;
        }
    }
    return "";
}

StagingResult stageBuild(const fs::path& buildDir, const BuildRecord& record,
                         const StagingOptions& options) {
    return Stager(buildDir, record, options).run();
}

}  // namespace imagebuild::agent
