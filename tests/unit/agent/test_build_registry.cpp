// The registry over its index: what a start reads, what it leaves on disk,
// and that every build stays reachable whichever way it was last written.
#include "agent/build_registry.hpp"

#include <gtest/gtest.h>

#include "common/atomic_file.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild;
using namespace imagebuild::agent;
namespace fs = std::filesystem;

namespace {

class RegistryTest : public ::testing::Test {
protected:
    RegistryTest() : store_(tree_.root()) {}

    // A build as the lifecycle makes one, then ended if `ended`.
    std::string add(BuildRegistry& registry, bool ended) {
        BuildRecord r;
        r.number = store_.allocateNumber();
        r.id = "h-" + std::to_string(r.number);
        r.spec.type = "oemdrv";
        r.spec.name = "tab\there";
        r.submittedAt = 1000 * r.number;
        auto& kept = registry.create(r, "ks\n");
        if (ended) {
            kept.state = kept.result = state::kSucceeded;
            kept.finishedAt = kept.submittedAt + 1;
            registry.save(kept);
        }
        return r.id;
    }

    std::vector<std::string> ids(const BuildRegistry& registry) {
        std::vector<std::string> out;
        const auto& rows = registry.summaries();
        for (std::size_t i = 0; i < rows.size(); ++i) {
            out.emplace_back(rows[i].id);
        }
        return out;
    }

    static std::vector<std::string> idsOf(const std::vector<SummaryView>& rows) {
        std::vector<std::string> out;
        for (const auto& r : rows) {
            out.emplace_back(r.id);
        }
        return out;
    }

    void load(BuildRegistry& registry) {
        registry.load([this](const fs::path& p, const std::string&) {
            corrupt_.push_back(p.parent_path().filename().string());
        });
    }

    imagebuild::testing::TempTree tree_;
    StateStore store_;
    std::vector<std::string> corrupt_;
};

}  // namespace

TEST(BuildIndex, ALineReadsBackAsWritten) {
    BuildSummary s{"h-7",   7,           "oemdrv",    "x86_64", "40", "a\tb\\c\nd",
                   "alice", "succeeded", "succeeded", 1000,     1,    2,
                   3,       "h-6",       true,        "",       -5};
    auto line = formatIndexLine(s.view());
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
    line.pop_back();
    auto back = parseIndexLine(line);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->name, s.name);
    EXPECT_EQ(back->number, 7u);
    EXPECT_EQ(back->submitterUid, 1000u);
    EXPECT_EQ(back->finishedAt, 3u);
    EXPECT_EQ(back->retryOf, "h-6");
    EXPECT_TRUE(back->pinned);
    EXPECT_EQ(back->priority, -5);
    EXPECT_FALSE(parseIndexLine("h-7\toemdrv"));
    EXPECT_FALSE(parseIndexLine(line.substr(0, line.size() - 1) + "x"));
}

TEST(BuildIndex, FailureClassIsTheLastFieldAndOlderLinesHaveNone) {
    BuildSummary s{"h-8", 8, "oemdrv", "x86_64", "40", "",    "alice", "failed", "failed",
                   1000,  1, 2,        3,        "",   false, "infra", 10};
    auto line = formatIndexLine(s.view());
    line.pop_back();
    auto back = parseIndexLine(line);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->failureClass, "infra");
    EXPECT_EQ(back->priority, 10);
    EXPECT_FALSE(back->pinned);
    // A line of an agent before the priority: 16 fields, priority 0.
    line = line.substr(0, line.rfind('\t'));
    auto noPriority = parseIndexLine(line);
    ASSERT_TRUE(noPriority);
    EXPECT_EQ(noPriority->failureClass, "infra");
    EXPECT_EQ(noPriority->priority, 0);
    // Before the failure class: 15 fields, no class.
    auto older = parseIndexLine(line.substr(0, line.rfind('\t')));
    ASSERT_TRUE(older);
    EXPECT_EQ(older->failureClass, "");
    EXPECT_EQ(older->state, "failed");
    // A line of a newer format, with more fields: not read (its build is
    // read from its record).
    auto full = formatIndexLine(s.view());
    full.pop_back();
    EXPECT_TRUE(parseIndexLine(full));
    EXPECT_FALSE(parseIndexLine(full + "\tmore"));
}

namespace {

BuildSummary row(std::uint64_t number, std::uint64_t submittedAt, const std::string& state) {
    BuildSummary s;
    s.number = number;
    s.id = "h-" + std::to_string(number);
    s.type = "oemdrv";
    s.arch = "x86_64";
    s.release = "40";
    s.name = "b" + std::to_string(number);
    s.submitter = "alice";
    s.state = state;
    s.result = state == "succeeded" ? state : "";
    s.submittedAt = submittedAt;
    return s;
}

std::vector<std::uint64_t> numbers(const BuildSummaries& rows) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(rows[i].number);
    }
    return out;
}

}  // namespace

TEST(BuildSummaries, RowsReadBackAsPutInNumberOrder) {
    BuildSummaries rows;
    auto seven = row(7, 700, "succeeded");
    seven.name = "tab\there";
    seven.retryOf = "h-3";
    seven.failureClass = "infra";
    seven.priority = 20;
    seven.pinned = true;
    seven.submitterUid = 1000;
    rows.put(seven.view());
    rows.put(row(9, 900, "running").view());
    rows.put(row(8, 800, "queued").view());  // out of order: goes between
    EXPECT_EQ(numbers(rows), (std::vector<std::uint64_t>{7, 8, 9}));
    auto back = rows[0].owned();
    EXPECT_EQ(back.id, "h-7");
    EXPECT_EQ(back.name, "tab\there");
    EXPECT_EQ(back.retryOf, "h-3");
    EXPECT_EQ(back.failureClass, "infra");
    EXPECT_EQ(back.priority, 20);
    EXPECT_TRUE(back.pinned);
    EXPECT_EQ(back.submitterUid, 1000u);
    EXPECT_EQ(back.submittedAt, 700u);
    EXPECT_TRUE(back.finished());
    EXPECT_FALSE(rows[2].finished());
    // The same build again replaces its row.
    auto nine = row(9, 900, "succeeded");
    rows.put(nine.view());
    EXPECT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[2].state, "succeeded");
    EXPECT_EQ(rows[2].name, "b9");
    ASSERT_TRUE(rows.find(8));
    EXPECT_EQ(*rows.find(8), 1u);
    EXPECT_FALSE(rows.find(10));
    rows.erase(1);
    EXPECT_EQ(numbers(rows), (std::vector<std::uint64_t>{7, 9}));
    rows.keepOnly({false, true});
    EXPECT_EQ(numbers(rows), (std::vector<std::uint64_t>{9}));
    EXPECT_EQ(rows[0].id, "h-9");
}

TEST(BuildSummaries, SubmissionTimesAscendUnlessTheClockWentBack) {
    BuildSummaries rows;
    rows.put(row(1, 100, "succeeded").view());
    rows.put(row(2, 200, "succeeded").view());
    rows.put(row(4, 400, "succeeded").view());
    EXPECT_TRUE(rows.timesAscend());
    rows.put(row(3, 500, "succeeded").view());  // 500 before 400
    EXPECT_FALSE(rows.timesAscend());
    rows.put(row(3, 300, "succeeded").view());
    EXPECT_TRUE(rows.timesAscend());
    rows.put(row(5, 50, "succeeded").view());
    EXPECT_FALSE(rows.timesAscend());
    rows.erase(4);
    EXPECT_TRUE(rows.timesAscend());
    rows.put(row(0, 250, "succeeded").view());
    EXPECT_FALSE(rows.timesAscend());
    rows.keepOnly({false, true, true, true, true});
    EXPECT_TRUE(rows.timesAscend());
}

// The point of the table: a long history is about 100 bytes a build, the
// values every build repeats (type, arch, release, submitter, state) kept
// once, and a build saved again (a later state) adds no text.
TEST(BuildSummaries, ALongHistoryCostsAboutOneHundredBytesABuild) {
    BuildSummaries rows;
    constexpr std::size_t kBuilds = 10000;
    for (std::size_t n = 1; n <= kBuilds; ++n) {
        auto s = row(n, n * 1000, "running");
        s.id = "build-host-" + std::to_string(n);
        rows.put(s.view());
        s.state = s.result = "succeeded";
        rows.put(s.view());
    }
    rows.shrinkToFit();
    EXPECT_EQ(rows.size(), kBuilds);
    EXPECT_EQ(rows[kBuilds - 1].id, "build-host-10000");
    EXPECT_EQ(rows[kBuilds - 1].state, "succeeded");
    EXPECT_LT(rows.bytes() / kBuilds, 130u);
}

TEST_F(RegistryTest, AStartReadsOnlyTheRecordsOfBuildsNotOver) {
    {
        BuildRegistry first(store_);
        load(first);
        for (int i = 0; i < 5; ++i) {
            add(first, i != 3);
        }
    }
    BuildRegistry registry(store_);
    load(registry);
    EXPECT_EQ(ids(registry), (std::vector<std::string>{"h-1", "h-2", "h-3", "h-4", "h-5"}));
    // h-4 is not over: read in full; the others come from the index.
    EXPECT_EQ(registry.recordsInMemory(), 1u);
    ASSERT_EQ(registry.unfinished().size(), 1u);
    EXPECT_EQ(registry.unfinished()[0]->id, "h-4");
    EXPECT_EQ(registry.summaries()[0].name, "tab\there");
    // Any other is read when asked for, and can be let go again.
    ASSERT_NE(registry.find("h-2"), nullptr);
    EXPECT_EQ(registry.find("h-2")->spec.name, "tab\there");
    EXPECT_EQ(registry.recordsInMemory(), 2u);
    registry.release("h-2");
    registry.release("h-4");  // not over: kept
    EXPECT_EQ(registry.recordsInMemory(), 1u);
    EXPECT_EQ(registry.find("h-9"), nullptr);
    EXPECT_EQ(registry.find("x-2"), nullptr);
    EXPECT_TRUE(corrupt_.empty());
}

TEST_F(RegistryTest, BuildsMissingFromTheIndexAreReadAndIndexed) {
    {
        BuildRegistry first(store_);
        load(first);
        add(first, true);
        add(first, true);
        add(first, true);
    }
    // An index lost (or a state directory from before there was one).
    fs::remove(tree_.root() / "index");
    BuildRegistry registry(store_);
    load(registry);
    EXPECT_EQ(ids(registry), (std::vector<std::string>{"h-1", "h-2", "h-3"}));
    EXPECT_EQ(registry.recordsInMemory(), 0u);
    BuildSummaries rows;
    auto index = readIndex(tree_.root() / "index", rows);
    EXPECT_TRUE(index.readable);
    EXPECT_EQ(index.lines, 3u);
    EXPECT_EQ(rows.size(), 3u);
}

TEST_F(RegistryTest, TheDirectoriesAreTheTruthNotTheIndex) {
    {
        BuildRegistry first(store_);
        load(first);
        add(first, true);
        add(first, true);
        first.save([&] {
            auto r = *first.find("h-2");
            r.pinned = true;
            return r;
        }());
    }
    // A build removed by hand: its line is dropped; a torn last line is ignored.
    fs::remove_all(tree_.root() / "builds" / "h-1");
    {
        auto text = *readFile(tree_.root() / "index");
        writeFileAtomic(tree_.root() / "index", text + "h-3\toemd");
    }
    BuildRegistry registry(store_);
    load(registry);
    EXPECT_EQ(ids(registry), (std::vector<std::string>{"h-2"}));
    // The last line of an id wins: the pin.
    EXPECT_TRUE(registry.summaries()[0].pinned);
}

TEST_F(RegistryTest, ARemovedBuildIsGoneFromTheNextStartToo) {
    BuildRegistry registry(store_);
    load(registry);
    add(registry, true);
    add(registry, true);
    registry.remove("h-1");
    EXPECT_EQ(ids(registry), (std::vector<std::string>{"h-2"}));
    BuildRegistry again(store_);
    load(again);
    EXPECT_EQ(ids(again), (std::vector<std::string>{"h-2"}));
}

TEST_F(RegistryTest, AFinishedBuildKeepsItsPriorityInTheIndex) {
    {
        BuildRegistry first(store_);
        load(first);
        add(first, true);
        BuildRecord r;
        r.number = store_.allocateNumber();
        r.id = "h-" + std::to_string(r.number);
        r.spec.type = "oemdrv";
        r.spec.priority = 50;
        auto& kept = first.create(r, "ks\n");
        EXPECT_EQ(first.summary("h-2")->priority, 50);
        kept.state = kept.result = state::kFailed;
        first.save(kept);
    }
    BuildRegistry registry(store_);
    load(registry);
    EXPECT_EQ(registry.recordsInMemory(), 0u);  // from the index alone
    ASSERT_TRUE(registry.summary("h-2"));
    EXPECT_EQ(registry.summary("h-2")->priority, 50);
    EXPECT_EQ(registry.summary("h-2")->state, "failed");
    EXPECT_EQ(registry.summary("h-1")->priority, 0);
    EXPECT_FALSE(registry.summary("h-3"));
    EXPECT_FALSE(registry.summary("x-2"));
}

TEST_F(RegistryTest, IndexLinesOutOfOrderAndRepeatedReadAsOneRowEach) {
    {
        BuildRegistry first(store_);
        load(first);
        add(first, false);
        add(first, false);
        add(first, false);
        // They end in another order than they started; h-2 is then pinned.
        for (const char* id : {"h-3", "h-1", "h-2"}) {
            auto& r = *first.find(id);
            r.state = r.result = state::kSucceeded;
            first.save(r);
        }
        auto& pinned = *first.find("h-2");
        pinned.pinned = true;
        first.save(pinned);
    }
    BuildRegistry registry(store_);
    load(registry);
    EXPECT_EQ(ids(registry), (std::vector<std::string>{"h-1", "h-2", "h-3"}));
    EXPECT_EQ(registry.recordsInMemory(), 0u);
    EXPECT_TRUE(registry.summary("h-2")->pinned);
    EXPECT_FALSE(registry.summary("h-3")->pinned);
}

TEST_F(RegistryTest, ACorruptRecordIsReportedAndSkipped) {
    {
        BuildRegistry first(store_);
        load(first);
        add(first, false);
        add(first, false);
    }
    writeFileAtomic(tree_.root() / "builds" / "h-1" / "record.json", "{");
    BuildRegistry registry(store_);
    load(registry);
    EXPECT_EQ(ids(registry), (std::vector<std::string>{"h-2"}));
    EXPECT_EQ(corrupt_, (std::vector<std::string>{"h-1"}));
}

TEST_F(RegistryTest, AListIsThePageItsFilterAsksOldestFirst) {
    {
        BuildRegistry first(store_);
        load(first);
        for (int i = 1; i <= 6; ++i) {
            add(first, i != 3 && i != 5);
        }
    }
    BuildRegistry registry(store_);
    load(registry);
    using Ids = std::vector<std::string>;
    EXPECT_EQ(idsOf(registry.list({})), (Ids{"h-1", "h-2", "h-3", "h-4", "h-5", "h-6"}));
    BuildListFilter f;
    f.states = {state::kSucceeded};
    f.limit = 2;
    EXPECT_EQ(idsOf(registry.list(f)), (Ids{"h-4", "h-6"}));
    f = {};
    f.limit = 2;
    f.before = std::string("h-4");
    EXPECT_EQ(idsOf(registry.list(f)), (Ids{"h-2", "h-3"}));
    f = {};
    f.limit = 10;
    f.after = std::string("h-4");
    EXPECT_EQ(idsOf(registry.list(f)), (Ids{"h-5", "h-6"}));
    f = {};
    f.type = "other";
    EXPECT_TRUE(registry.list(f).empty());
    EXPECT_EQ(registry.recordsInMemory(), 2u);  // listing read no record
}

TEST_F(RegistryTest, AListOfStatesOfBuildsNotOverLooksAtThoseAlone) {
    {
        BuildRegistry first(store_);
        load(first);
        for (int i = 1; i <= 5; ++i) {
            add(first, i % 2 == 1);
        }
    }
    BuildRegistry registry(store_);
    load(registry);
    using Ids = std::vector<std::string>;
    BuildListFilter f;
    f.states = {state::kQueued, state::kRunning};
    EXPECT_EQ(idsOf(registry.list(f)), (Ids{"h-2", "h-4"}));
    f.limit = 1;
    EXPECT_EQ(idsOf(registry.list(f)), (Ids{"h-4"}));
    f.before = std::string("h-4");
    EXPECT_EQ(idsOf(registry.list(f)), (Ids{"h-2"}));
    f = {};
    f.states = {state::kQueued};
    f.type = "other";
    EXPECT_TRUE(registry.list(f).empty());
    // A build read since it ended is no build not over.
    ASSERT_NE(registry.find("h-3"), nullptr);
    f.type.clear();
    EXPECT_EQ(idsOf(registry.list(f)), (Ids{"h-2", "h-4"}));
}
