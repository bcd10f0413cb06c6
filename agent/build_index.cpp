#include "agent/build_index.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <system_error>

#include "common/atomic_file.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild::agent {

namespace {

constexpr std::string_view kHeader = "imagebuild-index 1\n";
constexpr std::size_t kFields = 16;  // 15 in lines of older agents

void putField(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
}

std::string unescape(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 1 < field.size()) {
            char next = field[++i];
            out += next == 't' ? '\t' : next == 'n' ? '\n' : next;
        } else {
            out += field[i];
        }
    }
    return out;
}

template <typename T>
bool number(std::string_view text, T& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

BuildSummary summaryOf(const BuildRecord& r) {
    return {r.id,         r.number,  r.spec.type, r.spec.arch,    r.spec.release, r.spec.name,
            r.submitter,  r.state,   r.result,    r.submitterUid, r.submittedAt,  r.startedAt,
            r.finishedAt, r.retryOf, r.pinned,    r.failureClass};
}

std::string formatIndexLine(const BuildSummary& s) {
    std::string line;
    line.reserve(160);
    for (const std::string* text : {&s.id, &s.type, &s.arch, &s.release, &s.name, &s.submitter,
                                    &s.state, &s.result, &s.retryOf}) {
        putField(line, *text);
        line += '\t';
    }
    for (std::uint64_t n :
         {s.number, std::uint64_t{s.submitterUid}, s.submittedAt, s.startedAt, s.finishedAt}) {
        line += std::to_string(n);
        line += '\t';
    }
    line += s.pinned ? "1\t" : "0\t";
    putField(line, s.failureClass);
    line += '\n';
    return line;
}

std::optional<BuildSummary> parseIndexLine(std::string_view line) {
    std::vector<std::string_view> fields;
    fields.reserve(kFields);
    std::size_t start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i) {
        if (i == line.size() || line[i] == '\t') {
            fields.push_back(line.substr(start, i - start));
            start = i + 1;
        }
    }
    if (fields.size() != kFields && fields.size() != kFields - 1) {
        return std::nullopt;
    }
    BuildSummary s;
    std::string* texts[] = {&s.id,        &s.type,  &s.arch,   &s.release, &s.name,
                            &s.submitter, &s.state, &s.result, &s.retryOf};
    for (std::size_t i = 0; i < 9; ++i) {
        *texts[i] = unescape(fields[i]);
    }
    if (!number(fields[9], s.number) || !number(fields[10], s.submitterUid) ||
        !number(fields[11], s.submittedAt) || !number(fields[12], s.startedAt) ||
        !number(fields[13], s.finishedAt) || (fields[14] != "0" && fields[14] != "1") ||
        s.id.empty()) {
        return std::nullopt;
    }
    s.pinned = fields[14] == "1";
    if (fields.size() == kFields) {
        s.failureClass = unescape(fields[15]);
    }
    return s;
}

IndexContents readIndex(const std::filesystem::path& path) {
    IndexContents contents;
    auto text = readFile(path);
    if (!text || text->compare(0, kHeader.size(), kHeader) != 0) {
        return contents;
    }
    contents.readable = true;
    std::string_view rest(*text);
    rest.remove_prefix(kHeader.size());
    while (!rest.empty()) {
        auto end = rest.find('\n');
        if (end == std::string_view::npos) {
            break;  // a line torn by a crash mid-append: its build is re-read
        }
        if (auto row = parseIndexLine(rest.substr(0, end))) {
            contents.rows.push_back(std::move(*row));
        }
        rest.remove_prefix(end + 1);
    }
    return contents;
}

void appendIndexLine(const std::filesystem::path& path, const BuildSummary& summary) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!fd) {
        // No index yet (or it went): start one, with what is known now.
        writeIndex(path, {summary});
        return;
    }
    writeAllToFd(fd.get(), formatIndexLine(summary), path);
}

void writeIndex(const std::filesystem::path& path, const std::vector<BuildSummary>& rows) {
    std::string text(kHeader);
    text.reserve(rows.size() * 120 + kHeader.size());
    for (const auto& row : rows) {
        text += formatIndexLine(row);
    }
    // Not synced: a lost index is rebuilt from the records.
    writeFileAtomic(path, text, 0644, Sync::kNone);
}

}  // namespace imagebuild::agent
