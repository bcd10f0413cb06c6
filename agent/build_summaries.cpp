#include "agent/build_summaries.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace imagebuild::agent {

SummaryView BuildSummary::view() const {
    return {id,         number,  type,   arch,         release,     name,
            submitter,  state,   result, submitterUid, submittedAt, startedAt,
            finishedAt, retryOf, pinned, failureClass, priority};
}

BuildSummary SummaryView::owned() const {
    return {std::string(id),
            number,
            std::string(type),
            std::string(arch),
            std::string(release),
            std::string(name),
            std::string(submitter),
            std::string(state),
            std::string(result),
            submitterUid,
            submittedAt,
            startedAt,
            finishedAt,
            std::string(retryOf),
            pinned,
            std::string(failureClass),
            priority};
}

SummaryView BuildSummaries::operator[](std::size_t i) const {
    const auto& r = rows_[i];
    return {text(r.id),       r.number,        value(r.type),      value(r.arch),
            value(r.release), text(r.name),    value(r.submitter), value(r.state),
            value(r.result),  r.submitterUid,  r.submittedAt,      r.startedAt,
            r.finishedAt,     text(r.retryOf), r.pinned,           value(r.failureClass),
            r.priority};
}

std::optional<std::size_t> BuildSummaries::find(std::uint64_t number) const {
    auto it = std::lower_bound(rows_.begin(), rows_.end(), number,
                               [](const Row& r, std::uint64_t n) { return r.number < n; });
    if (it == rows_.end() || it->number != number) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(it - rows_.begin());
}

BuildSummaries::BuildSummaries() {
    values_.push_back(&valueNumbers_.emplace("", 0).first->first);
}

void BuildSummaries::put(const SummaryView& summary) {
    // Nearly always a new build, at the end; a build that ends or is
    // pinned is found by bisection.
    auto i = rows_.size();
    if (!rows_.empty() && rows_.back().number >= summary.number) {
        i = static_cast<std::size_t>(
            std::lower_bound(rows_.begin(), rows_.end(), summary.number,
                             [](const Row& r, std::uint64_t n) { return r.number < n; }) -
            rows_.begin());
    }
    auto around = [this](std::size_t at) {
        return (at > 0 ? descentAfter(at - 1) : 0) + descentAfter(at);
    };
    if (i < rows_.size() && rows_[i].number == summary.number) {
        // The same build again (a later state, a pin): its text is kept
        // where it is unchanged (it nearly always is).
        descents_ -= around(i);
        rows_[i] = rowOf(summary, &rows_[i]);
        descents_ += around(i);
        return;
    }
    if (i > 0) {
        descents_ -= descentAfter(i - 1);
    }
    rows_.insert(rows_.begin() + static_cast<std::ptrdiff_t>(i), rowOf(summary, nullptr));
    descents_ += around(i);
}

void BuildSummaries::erase(std::size_t i) {
    descents_ -= descentAfter(i);
    if (i > 0) {
        descents_ -= descentAfter(i - 1);
    }
    rows_.erase(rows_.begin() + static_cast<std::ptrdiff_t>(i));
    if (i > 0) {
        descents_ += descentAfter(i - 1);
    }
}

void BuildSummaries::keepOnly(const std::vector<bool>& keep) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (keep[i]) {
            rows_[out++] = rows_[i];
        }
    }
    rows_.resize(out);
    descents_ = 0;
    for (std::size_t i = 0; i + 1 < rows_.size(); ++i) {
        descents_ += descentAfter(i);
    }
}

void BuildSummaries::reserve(std::size_t rows) {
    rows_.reserve(rows_.size() + rows);
    // About the id and a short name of each build.
    text_.reserve(text_.size() + rows * 24);
}

void BuildSummaries::shrinkToFit() {
    rows_.shrink_to_fit();
    text_.shrink_to_fit();
}

std::size_t BuildSummaries::bytes() const {
    std::size_t values = 0;
    for (const auto* v : values_) {
        values += sizeof(std::string) + v->capacity() + 2 * sizeof(void*);
    }
    return rows_.capacity() * sizeof(Row) + text_.capacity() + values;
}

BuildSummaries::Row BuildSummaries::rowOf(const SummaryView& s, const Row* old) {
    // Text that did not change keeps its span; other text is appended
    // (what it replaces stays in the buffer until the next start).
    auto append = [this, old](Span Row::*member, std::string_view text) {
        if (old != nullptr && this->text(old->*member) == text) {
            return old->*member;
        }
        return this->append(text);
    };
    Row r;
    r.number = s.number;
    r.submittedAt = s.submittedAt;
    r.startedAt = s.startedAt;
    r.finishedAt = s.finishedAt;
    r.id = append(&Row::id, s.id);
    r.name = append(&Row::name, s.name);
    r.retryOf = append(&Row::retryOf, s.retryOf);
    r.submitterUid = s.submitterUid;
    r.priority = s.priority;
    r.type = intern(s.type);
    r.arch = intern(s.arch);
    r.release = intern(s.release);
    r.submitter = intern(s.submitter);
    r.state = intern(s.state);
    r.result = intern(s.result);
    r.failureClass = intern(s.failureClass);
    r.pinned = s.pinned;
    return r;
}

BuildSummaries::Span BuildSummaries::append(std::string_view text) {
    if (text.empty()) {
        return {};
    }
    if (text_.size() + text.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("build summaries: more than 4 GiB of text");
    }
    Span span{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(text.size())};
    text_.append(text);
    return span;
}

std::uint32_t BuildSummaries::intern(std::string_view value) {
    if (auto it = valueNumbers_.find(value); it != valueNumbers_.end()) {
        return it->second;
    }
    auto n = static_cast<std::uint32_t>(values_.size());
    values_.push_back(&valueNumbers_.emplace(std::string(value), n).first->first);
    return n;
}

int BuildSummaries::descentAfter(std::size_t i) const {
    return i + 1 < rows_.size() && rows_[i].submittedAt > rows_[i + 1].submittedAt ? 1 : 0;
}

}  // namespace imagebuild::agent
