#include "agent/build_index.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <system_error>

#include "common/atomic_file.hpp"
#include "common/unique_fd.hpp"

namespace imagebuild::agent {

namespace {

constexpr std::string_view kHeader = "imagebuild-index 1\n";
constexpr std::size_t kFields = 17;        // fewer in lines of older agents
constexpr std::size_t kOldestFields = 15;  // before the failure class

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

// The field as it was written: itself when it has no escape (nearly
// always), else unescaped into `scratch`.
std::string_view unescape(std::string_view field, std::string& scratch) {
    if (field.find('\\') == std::string_view::npos) {
        return field;
    }
    scratch.clear();
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 1 < field.size()) {
            char next = field[++i];
            scratch += next == 't' ? '\t' : next == 'n' ? '\n' : next;
        } else {
            scratch += field[i];
        }
    }
    return scratch;
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
            r.finishedAt, r.retryOf, r.pinned,    r.failureClass, r.spec.priority};
}

std::string formatIndexLine(const SummaryView& s) {
    std::string line;
    line.reserve(160);
    for (std::string_view text :
         {s.id, s.type, s.arch, s.release, s.name, s.submitter, s.state, s.result, s.retryOf}) {
        putField(line, text);
        line += '\t';
    }
    for (std::uint64_t n :
         {s.number, std::uint64_t{s.submitterUid}, s.submittedAt, s.startedAt, s.finishedAt}) {
        line += std::to_string(n);
        line += '\t';
    }
    line += s.pinned ? "1\t" : "0\t";
    putField(line, s.failureClass);
    line += '\t';
    line += std::to_string(s.priority);
    line += '\n';
    return line;
}

std::optional<SummaryView> parseIndexLine(std::string_view line, IndexScratch& scratch) {
    std::string_view fields[kFields];
    std::size_t count = 0, start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i) {
        if (i == line.size() || line[i] == '\t') {
            if (count == kFields) {
                return std::nullopt;  // more fields: a newer format
            }
            fields[count++] = line.substr(start, i - start);
            start = i + 1;
        }
    }
    if (count < kOldestFields) {
        return std::nullopt;
    }
    SummaryView s;
    std::string_view* texts[] = {&s.id,        &s.type,  &s.arch,   &s.release, &s.name,
                                 &s.submitter, &s.state, &s.result, &s.retryOf};
    for (std::size_t i = 0; i < 9; ++i) {
        *texts[i] = unescape(fields[i], scratch.fields[i]);
    }
    if (!number(fields[9], s.number) || !number(fields[10], s.submitterUid) ||
        !number(fields[11], s.submittedAt) || !number(fields[12], s.startedAt) ||
        !number(fields[13], s.finishedAt) || (fields[14] != "0" && fields[14] != "1") ||
        s.id.empty() || (count > 16 && !number(fields[16], s.priority))) {
        return std::nullopt;
    }
    s.pinned = fields[14] == "1";
    if (count > 15) {
        s.failureClass = unescape(fields[15], scratch.fields[9]);
    }
    return s;
}

std::optional<BuildSummary> parseIndexLine(std::string_view line) {
    IndexScratch scratch;
    auto view = parseIndexLine(line, scratch);
    return view ? std::optional(view->owned()) : std::nullopt;
}

IndexRead readIndex(const std::filesystem::path& path, BuildSummaries& into) {
    IndexRead read;
    auto text = readFile(path);
    if (!text || text->compare(0, kHeader.size(), kHeader) != 0) {
        return read;
    }
    read.readable = true;
    std::string_view rest(*text);
    rest.remove_prefix(kHeader.size());
    into.reserve(static_cast<std::size_t>(std::count(rest.begin(), rest.end(), '\n')));
    IndexScratch scratch;
    while (!rest.empty()) {
        auto end = rest.find('\n');
        if (end == std::string_view::npos) {
            break;  // a line torn by a crash mid-append: its build is re-read
        }
        if (auto row = parseIndexLine(rest.substr(0, end), scratch)) {
            into.put(*row);
            ++read.lines;
        }
        rest.remove_prefix(end + 1);
    }
    return read;
}

void appendIndexLine(const std::filesystem::path& path, const SummaryView& summary) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!fd) {
        // No index yet (or it went): start one, with what is known now.
        BuildSummaries rows;
        rows.put(summary);
        writeIndex(path, rows);
        return;
    }
    writeAllToFd(fd.get(), formatIndexLine(summary), path);
}

void writeIndex(const std::filesystem::path& path, const BuildSummaries& rows) {
    std::string text(kHeader);
    text.reserve(rows.size() * 120 + kHeader.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto row = rows[i];
        if (row.finished()) {
            text += formatIndexLine(row);
        }
    }
    // Not synced: a lost index is rebuilt from the records.
    writeFileAtomic(path, text, 0644, Sync::kNone);
}

}  // namespace imagebuild::agent
