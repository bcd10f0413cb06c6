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
        for (const auto& s : registry.summaries()) {
            out.push_back(s.id);
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
    BuildSummary s{"h-7",       7,    "oemdrv", "x86_64", "40", "a\tb\\c\nd", "alice", "succeeded",
                   "succeeded", 1000, 1,        2,        3,    "h-6",        true,    ""};
    auto line = formatIndexLine(s);
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
    EXPECT_FALSE(parseIndexLine("h-7\toemdrv"));
    EXPECT_FALSE(parseIndexLine(line.substr(0, line.size() - 1) + "x"));
}

TEST(BuildIndex, FailureClassIsTheLastFieldAndOlderLinesHaveNone) {
    BuildSummary s{"h-8",    8,    "oemdrv", "x86_64", "40", "", "alice", "failed",
                   "failed", 1000, 1,        2,        3,    "", false,   "infra"};
    auto line = formatIndexLine(s);
    line.pop_back();
    auto back = parseIndexLine(line);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->failureClass, "infra");
    EXPECT_FALSE(back->pinned);
    // A line of an agent before the field: 15 fields, no class.
    auto older = parseIndexLine(line.substr(0, line.rfind('\t')));
    ASSERT_TRUE(older);
    EXPECT_EQ(older->failureClass, "");
    EXPECT_EQ(older->state, "failed");
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
    auto index = readIndex(tree_.root() / "index");
    EXPECT_TRUE(index.readable);
    EXPECT_EQ(index.rows.size(), 3u);
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
