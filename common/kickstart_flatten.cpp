#include "common/kickstart_flatten.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "common/kickstart_paths.hpp"
#include "common/kickstart_sections.hpp"
#include "common/kickstart_text.hpp"
#include "common/sha256.hpp"

namespace imagebuild::kickstart {

KickstartError::KickstartError(std::string file, std::size_t line, std::string message)
    : std::runtime_error(line ? fmt::format("{}:{}: {}", file, line, message)
                              : fmt::format("{}: {}", file, message)),
      file_(std::move(file)),
      line_(line),
      message_(std::move(message)) {}

namespace {

struct Line {
    std::string_view text;
    LineOrigin origin;
};

// A file read once and kept: included twice, it is neither read nor
// hashed again.
struct Loaded {
    std::uint32_t index = 0;
    std::string identity;
    std::string text;
    std::vector<Line> lines;
};

// One file being run through the parser's state machine.
struct Frame {
    std::size_t depth = 0;
    std::string dir;  // pykickstart's currentdir[depth]: where relative includes also look
};

// The section the parser is in, and the file depth that opened it.
struct OpenSection {
    std::string name;
    bool allLines = false;
    std::size_t depth = 0;
    LineOrigin at;
};

class Flattener {
public:
    Flattener(const FileSource& source, const Options& options)
        : source_(source), options_(options), sections_(knownSections()) {}

    FlattenResult run(const std::string& rootFile);

private:
    void runFile(const std::vector<Line>& lines, const Frame& frame);
    std::size_t readSection(const std::vector<Line>& lines, std::size_t i, const Frame& frame);
    void include(const std::vector<std::string>& args, const Line& at, const Frame& frame);
    void emit(const Line& line, const Frame& frame);
    void openSection(const std::string& name, const Line& at, const Frame& frame);
    void closeSection(const Line& at, const Frame& frame);

    std::vector<Line> preprocess(const Loaded& root);
    std::string rootPath(const std::string& rootFile);
    std::optional<std::string> resolveInclude(const std::string& target, const Frame& frame,
                                              const Line& at, std::string* looked);
    std::string resolveAsGiven(const std::string& target, const Line& at, const std::string& what);
    const Loaded& load(const std::string& path, const Line* at, const std::string& what);
    std::vector<std::string> split(const Line& line, bool comments);
    std::string where(LineOrigin origin) const;
    [[noreturn]] void fail(const Line& at, const std::string& message) const;

    const FileSource& source_;
    const Options& options_;
    std::set<std::string, std::less<>> sections_;
    std::map<std::string, std::unique_ptr<Loaded>> cache_;  // by identity
    std::vector<std::string> stack_;                        // identities being included
    std::vector<std::string> stackNames_;
    std::optional<OpenSection> section_;
    std::size_t includes_ = 0;
    std::string rootText_;
    FlattenResult result_;
};

std::string Flattener::where(LineOrigin origin) const {
    return fmt::format("{}:{}", result_.files[origin.file].path, origin.line);
}

void Flattener::fail(const Line& at, const std::string& message) const {
    throw KickstartError(result_.files[at.origin.file].path, at.origin.line, message);
}

std::vector<std::string> Flattener::split(const Line& line, bool comments) {
    try {
        return shlexSplit(line.text, comments);
    } catch (const std::invalid_argument& e) {
        // pykickstart's shlex.split() fails on this line too.
        fail(line, fmt::format("cannot split the line as pykickstart does: {}", e.what()));
    }
}

void Flattener::emit(const Line& line, const Frame& frame) {
    std::string_view stripped = lstripPy(line.text);
    if (stripped.substr(0, 9) == "%ksappend") {
        // Read as text here (it is not in the root file), but a parser that
        // preprocesses the flattened file would take it as a directive.
        fail(line,
             "%ksappend is only a directive in the root kickstart; here it is text that "
             "would become a directive once flattened");
    }
    result_.text.append(line.text);
    if (frame.depth > 0 && lineBreakLength(line.text) == 0) {
        // The last line of an included file stays a line of its own.
        result_.text.push_back('\n');
    }
    result_.origins.push_back(line.origin);
    if (result_.text.size() > options_.maxOutputBytes) {
        fail(line, fmt::format("the flattened kickstart exceeds the limit of {} bytes",
                               options_.maxOutputBytes));
    }
}

void Flattener::openSection(const std::string& name, const Line& at, const Frame& frame) {
    if (sections_.count(name) == 0) {
        // Like KickstartParser with unknownSectionIsFatal=False: an unknown
        // section is read as a NullSection and known from then on. The
        // lint reports it.
        sections_.insert(name);
    }
    section_ = OpenSection{name, isAllLinesSection(name), frame.depth, at.origin};
}

void Flattener::closeSection(const Line& at, const Frame& frame) {
    if (section_->depth != frame.depth) {
        fail(at, fmt::format("{} here ends {} started at {}, in another file; a section must end "
                             "in the file that starts it",
                             std::string(firstWord(at.text)), section_->name, where(section_->at)));
    }
    section_.reset();
}

// KickstartParser._stateMachine over one file.
void Flattener::runFile(const std::vector<Line>& lines, const Frame& frame) {
    std::size_t i = 0;
    while (i < lines.size()) {
        const Line& line = lines[i++];
        if (isBlankOrComment(line.text)) {
            // Blank lines and comments never reach a section from here;
            // only a script keeps them, so only there does dropping matter.
            if (!(section_ && section_->allLines)) {
                emit(line, frame);
            }
            continue;
        }
        auto args = split(line, true);
        if (args.empty() || args[0].empty()) {
            emit(line, frame);
            continue;
        }
        if (args[0] == "%include") {
            include(args, line, frame);
            continue;
        }
        if (section_) {
            // Inside a section at the start of an included file: the line
            // goes back and the section reader takes over.
            i = readSection(lines, i - 1, frame);
            continue;
        }
        if (args[0] == "%ksappend") {
            continue;  // ignored by the parser outside the root's preprocessing
        }
        emit(line, frame);
        if (args[0][0] == '%') {
            openSection(args[0], line, frame);
            i = readSection(lines, i, frame);
        }
    }
    if (frame.depth > 0 && section_ && section_->depth == frame.depth) {
        throw KickstartError(result_.files[section_->at.file].path, section_->at.line,
                             fmt::format("{} has no %end in this file; a section must end in "
                                         "the file that starts it",
                                         section_->name));
    }
}

// KickstartParser._readSection: the body of a section, up to %end.
std::size_t Flattener::readSection(const std::vector<Line>& lines, std::size_t i,
                                   const Frame& frame) {
    while (i < lines.size()) {
        const Line& line = lines[i++];
        std::string_view stripped = lstripPy(line.text);
        if (stripped.empty() || stripped.front() != '%') {
            emit(line, frame);
            continue;
        }
        std::string_view word = firstWord(line.text);
        if (word != "%end" && word != "%include" && sections_.count(word) == 0) {
            emit(line, frame);  // "%something" that is script text
            continue;
        }
        auto args = split(line, false);
        if (!args.empty() && args[0] == "%end") {
            closeSection(line, frame);
            emit(line, frame);
            return i;
        }
        if (!args.empty() && args[0] == "%include") {
            include(args, line, frame);
            continue;
        }
        if (!args.empty() && sections_.count(args[0]) != 0) {
            // A header without %end before it ends this section (the lint
            // says so); the header is read again as the next section.
            closeSection(line, frame);
            return i - 1;
        }
        emit(line, frame);  // pykickstart ignores it here, and will again
    }
    return i;
}

void Flattener::include(const std::vector<std::string>& args, const Line& at, const Frame& frame) {
    if (args.size() < 2 || args[1].empty()) {
        fail(at, "%include needs a file name");
    }
    const std::string& target = args[1];
    std::string what = "%include " + target;
    if (++includes_ > options_.maxIncludes) {
        fail(at,
             fmt::format("{}: more than {} includes processed in all", what, options_.maxIncludes));
    }
    if (frame.depth + 1 > options_.maxDepth) {
        fail(at, fmt::format("{}: include depth limit of {} exceeded", what, options_.maxDepth));
    }
    std::string looked;
    auto path = resolveInclude(target, frame, at, &looked);
    if (!path) {
        fail(at, fmt::format("{}: no such file (looked for {})", what, looked));
    }
    const Loaded& file = load(*path, &at, what);
    for (std::size_t k = 0; k < stack_.size(); ++k) {
        if (stack_[k] == file.identity) {
            std::string cycle;
            for (std::size_t j = k; j < stackNames_.size(); ++j) {
                cycle += stackNames_[j] + " -> ";
            }
            fail(at, fmt::format("{}: include cycle {}{}", what, cycle,
                                 result_.files[file.index].path));
        }
    }
    stack_.push_back(file.identity);
    stackNames_.push_back(result_.files[file.index].path);
    runFile(file.lines, Frame{frame.depth + 1, normPath(dirName(*path))});
    stack_.pop_back();
    stackNames_.pop_back();
}

// KickstartParser.readKickstart: the path as given if it exists, else
// joined to the including file's directory.
std::optional<std::string> Flattener::resolveInclude(const std::string& target, const Frame& frame,
                                                     const Line& at, std::string* looked) {
    std::string what = "%include " + target;
    if (isUrl(target)) {
        fail(at, source_.confined()
                     ? what +
                           ": URL includes are not allowed in a bundle; put the file in the "
                           "bundle and include it by its relative path"
                     : what +
                           ": URL includes are not fetched; download the file and include it "
                           "by path");
    }
    try {
        if (!source_.confined()) {
            std::string joined = joinPath(frame.dir, target);
            *looked = fmt::format("'{}' and '{}'", target, joined);
            if (source_.exists(target)) {
                return target;
            }
            return source_.exists(joined) ? std::optional<std::string>(joined) : std::nullopt;
        }
        if (!target.empty() && target.front() == '/') {
            fail(at, what +
                         ": absolute paths are not allowed in a bundle; use a path relative to "
                         "the bundle root or to the including file");
        }
        auto asGiven = confinedPath(target);
        auto joined = confinedPath(joinPath(frame.dir, target));
        if (!asGiven && !joined) {
            fail(at, fmt::format("{}: '{}' leads outside the bundle root", what, target));
        }
        *looked = asGiven && joined && *asGiven != *joined
                      ? fmt::format("'{}' and '{}'", *asGiven, *joined)
                      : fmt::format("'{}'", asGiven ? *asGiven : *joined);
        if (asGiven && source_.exists(*asGiven)) {
            return asGiven;
        }
        if (joined && source_.exists(*joined)) {
            return joined;
        }
        return std::nullopt;
    } catch (const SourceError& e) {
        fail(at, fmt::format("{}: {}", what, e.what()));
    }
}

// pykickstart.load.load_to_str: %ksappend and the root file are opened as
// given, with no second place to look.
std::string Flattener::resolveAsGiven(const std::string& target, const Line& at,
                                      const std::string& what) {
    if (isUrl(target)) {
        fail(at, what + (source_.confined()
                             ? ": URL locations are not allowed in a bundle"
                             : ": URL locations are not fetched; download the file first"));
    }
    if (!source_.confined()) {
        return target;
    }
    if (!target.empty() && target.front() == '/') {
        fail(at, what + ": absolute paths are not allowed in a bundle");
    }
    auto path = confinedPath(target);
    if (!path) {
        fail(at, fmt::format("{}: '{}' leads outside the bundle root", what, target));
    }
    return *path;
}

const Loaded& Flattener::load(const std::string& path, const Line* at, const std::string& what) {
    auto prefix = [&](const std::string& message) {
        if (at == nullptr) {
            throw KickstartError(path, 0, message);
        }
        fail(*at, what + ": " + message);
    };
    SourceFile data;
    try {
        data = source_.read(path, options_.maxOutputBytes);
    } catch (const SourceError& e) {
        prefix(e.what());
    }
    auto found = cache_.find(data.identity);
    if (found != cache_.end()) {
        return *found->second;
    }
    auto loaded = std::make_unique<Loaded>();
    try {
        loaded->text = decodeKickstartText(data.content);
    } catch (const TextError& e) {
        if (at == nullptr) {
            throw KickstartError(path, e.line, e.what());
        }
        fail(*at, fmt::format("{}: {}:{}: {}", what, path, e.line, e.what()));
    }
    loaded->index = static_cast<std::uint32_t>(result_.files.size());
    loaded->identity = data.identity;
    result_.files.push_back(FileRecord{path, sha256Hex(data.content), data.content.size()});
    auto views = splitLines(loaded->text);
    loaded->lines.reserve(views.size());
    for (std::size_t k = 0; k < views.size(); ++k) {
        loaded->lines.push_back(Line{views[k], {loaded->index, static_cast<std::uint32_t>(k + 1)}});
    }
    auto& slot = cache_[data.identity];
    slot = std::move(loaded);
    return *slot;
}

// preprocessKickstart / _preprocessStateMachine: in the root file only,
// every line that starts with "%ksappend" (in a section too) is replaced by
// the named file's content, verbatim and not preprocessed again.
std::vector<Line> Flattener::preprocess(const Loaded& root) {
    struct Segment {
        std::size_t offset;
        LineOrigin origin;
    };
    bool any = false;
    for (const Line& line : root.lines) {
        any = any || stripPy(line.text).substr(0, 9) == "%ksappend";
    }
    if (!any) {
        return root.lines;
    }
    // One segment per run of root lines and one per appended file.
    std::vector<Segment> segments;
    bool inRootRun = false;
    for (const Line& line : root.lines) {
        std::string_view ll = stripPy(line.text);
        if (ll.substr(0, 9) != "%ksappend") {
            if (!inRootRun) {
                segments.push_back(Segment{rootText_.size(), line.origin});
                inRootRun = true;
            }
            rootText_.append(line.text);
            continue;
        }
        inRootRun = false;
        // ksurl = ll.split(' ')[1]
        std::size_t space = ll.find(' ');
        if (space == std::string_view::npos) {
            fail(line, "%ksappend needs a file name after a space");
        }
        std::string_view rest = ll.substr(space + 1);
        std::string target(rest.substr(0, rest.find(' ')));
        if (target.empty()) {
            fail(line, "%ksappend needs a file name after a single space");
        }
        std::string what = "%ksappend " + target;
        const Loaded& appended = load(resolveAsGiven(target, line, what), &line, what);
        segments.push_back(Segment{rootText_.size(), {appended.index, 1}});
        rootText_.append(appended.text);
    }
    // Split the whole text again: appended content without a final newline
    // joins the next line, exactly as in pykickstart's temporary file.
    std::vector<Line> lines;
    std::size_t seg = 0;
    std::uint32_t lineNo = segments.empty() ? 1 : segments[0].origin.line;
    std::size_t offset = 0;
    for (std::string_view view : splitLines(rootText_)) {
        while (seg + 1 < segments.size() && segments[seg + 1].offset <= offset) {
            ++seg;
            // A segment that starts inside this line had its first line joined.
            lineNo = segments[seg].origin.line + (segments[seg].offset < offset ? 1 : 0);
        }
        lines.push_back(Line{view, {segments[seg].origin.file, lineNo}});
        ++lineNo;
        offset += view.size();
    }
    return lines;
}

std::string Flattener::rootPath(const std::string& rootFile) {
    if (!source_.confined()) {
        return rootFile;
    }
    if (isUrl(rootFile)) {
        throw KickstartError(rootFile, 0, "URL locations are not allowed in a bundle");
    }
    auto path = confinedPath(rootFile);
    if (!path || *path == ".") {
        throw KickstartError(rootFile, 0,
                             "the root kickstart must be a file inside the bundle root");
    }
    return *path;
}

FlattenResult Flattener::run(const std::string& rootFile) {
    std::string path = rootPath(rootFile);
    const Loaded& root = load(path, nullptr, path);
    std::vector<Line> lines = preprocess(root);
    stack_.push_back(root.identity);
    stackNames_.push_back(path);
    result_.text.reserve(root.text.size());
    runFile(lines, Frame{0, normPath(dirName(path))});
    return std::move(result_);
}

}  // namespace

FlattenResult flatten(const FileSource& source, const std::string& rootFile,
                      const Options& options) {
    Flattener flattener(source, options);
    return flattener.run(rootFile);
}

}  // namespace imagebuild::kickstart
