// A summary row of every build in the history, kept in memory at about 100
// bytes a build: what ListBuilds, retention and the build objects need
// without reading a record. The values that repeat from build to build
// (type, arch, release, submitter, state, result, failure class) are kept
// once each and a row holds their number; the text of its own (id, name,
// retry of) is a span of one buffer. Rows are in id-number order (the order
// of submission). docs/design.md, "History".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace imagebuild::agent {

struct SummaryView;

// A row that owns its text: what a record or an index line becomes before
// it is put in the table. Its members are named as BuildInfo's, for the
// one filter (common/list_builds.hpp).
struct BuildSummary {
    std::string id;
    std::uint64_t number = 0;
    std::string type, arch, release, name, submitter, state, result;
    std::uint32_t submitterUid = 0;
    std::uint64_t submittedAt = 0, startedAt = 0, finishedAt = 0;
    std::string retryOf;
    bool pinned = false;
    std::string failureClass;
    std::int32_t priority = 0;

    bool finished() const { return !result.empty(); }
    SummaryView view() const;
};

// A row as read: the same members, its text borrowed (from the table, valid
// until the table next changes; or from a BuildSummary or a parsed line).
struct SummaryView {
    std::string_view id;
    std::uint64_t number = 0;
    std::string_view type, arch, release, name, submitter, state, result;
    std::uint32_t submitterUid = 0;
    std::uint64_t submittedAt = 0, startedAt = 0, finishedAt = 0;
    std::string_view retryOf;
    bool pinned = false;
    std::string_view failureClass;
    std::int32_t priority = 0;

    bool finished() const { return !result.empty(); }
    BuildSummary owned() const;
};

class BuildSummaries {
public:
    BuildSummaries();
    // Moved, never copied: values_ points into valueNumbers_.
    BuildSummaries(BuildSummaries&&) = default;
    BuildSummaries& operator=(BuildSummaries&&) = default;
    BuildSummaries(const BuildSummaries&) = delete;
    BuildSummaries& operator=(const BuildSummaries&) = delete;

    std::size_t size() const { return rows_.size(); }
    bool empty() const { return rows_.empty(); }
    SummaryView operator[](std::size_t i) const;
    std::uint64_t number(std::size_t i) const { return rows_[i].number; }
    // The position of the row of build `number`; nullopt if there is none.
    std::optional<std::size_t> find(std::uint64_t number) const;

    // Adds the row of summary.number, or replaces it; kept in number order
    // (at the end, where a new build goes, without a search).
    void put(const SummaryView& summary);
    void erase(std::size_t i);
    // Keeps the rows whose flag is set (keep.size() == size()), in order.
    void keepOnly(const std::vector<bool>& keep);
    // Room for `rows` more rows; gives back what is not used.
    void reserve(std::size_t rows);
    void shrinkToFit();

    // Whether submission times never go down from one build to the next
    // (they do only if the clock was set back): then a page after or before
    // a time cursor is found by bisection, as one by id always is.
    bool timesAscend() const { return descents_ == 0; }

    // Bytes the table holds (rows, text, the values kept once): for tests
    // and the benchmark's account of the agent's memory.
    std::size_t bytes() const;

private:
    struct Span {
        std::uint32_t offset = 0, size = 0;
    };
    struct Row {
        std::uint64_t number = 0, submittedAt = 0, startedAt = 0, finishedAt = 0;
        Span id, name, retryOf;
        std::uint32_t submitterUid = 0;
        std::int32_t priority = 0;
        std::uint32_t type = 0, arch = 0, release = 0, submitter = 0, state = 0, result = 0,
                      failureClass = 0;
        bool pinned = false;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>()(s);
        }
    };

    // `old`: the row this one replaces, if any.
    Row rowOf(const SummaryView& s, const Row* old);
    Span append(std::string_view text);
    std::string_view text(Span span) const { return {text_.data() + span.offset, span.size}; }
    std::uint32_t intern(std::string_view value);
    std::string_view value(std::uint32_t n) const { return *values_[n]; }
    // 1 if the submission time goes down from row i to row i + 1.
    int descentAfter(std::size_t i) const;

    std::vector<Row> rows_;
    std::string text_;
    // The values kept once: number -> text, text -> number. Nodes of the
    // map do not move, so values_ points into it. Value 0 is "".
    std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> valueNumbers_;
    std::vector<const std::string*> values_;
    std::size_t descents_ = 0;
};

}  // namespace imagebuild::agent
