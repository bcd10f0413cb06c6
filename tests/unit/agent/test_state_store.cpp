#include "agent/state_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "common/atomic_file.hpp"

using imagebuild::agent::BuildRecord;
using imagebuild::agent::StateStore;
namespace fs = std::filesystem;

class StateStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/imagebuild-store-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    void TearDown() override { fs::remove_all(dir_); }

    BuildRecord record(StateStore& store) {
        BuildRecord r;
        r.number = store.allocateNumber();
        r.id = "h-" + std::to_string(r.number);
        r.spec.type = "oemdrv";
        r.spec.arch = "x86_64";
        r.spec.release = "40";
        r.spec.labels = {{"k", "v"}};
        r.submitterUid = 1000;
        r.submittedAt = 42;
        return r;
    }

    // Every readable record, oldest first (as the registry reads those the
    // index lacks); the ids of unreadable ones go to corrupt.
    std::vector<BuildRecord> load(const StateStore& store, std::vector<std::string>* corrupt) {
        std::vector<BuildRecord> records;
        for (const auto& id : store.buildIds()) {
            try {
                if (auto record = store.load(id)) {
                    records.push_back(std::move(*record));
                }
            } catch (const std::exception&) {
                corrupt->push_back(id);
            }
        }
        std::sort(records.begin(), records.end(),
                  [](const BuildRecord& a, const BuildRecord& b) { return a.number < b.number; });
        return records;
    }

    fs::path dir_;
};

TEST_F(StateStoreTest, CreatedBuildsLoadBackOldestFirst) {
    StateStore store(dir_);
    for (int i = 0; i < 3; ++i) {
        store.create(record(store), "ks text\n");
    }
    std::vector<std::string> corrupt;
    auto all = load(store, &corrupt);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].id, "h-1");
    EXPECT_EQ(all[2].id, "h-3");
    EXPECT_EQ(all[1].spec.labels.at("k"), "v");
    EXPECT_EQ(all[1].submitterUid, 1000u);
    EXPECT_TRUE(corrupt.empty());
    EXPECT_EQ(store.readKickstart("h-2"), "ks text\n");
    EXPECT_TRUE(fs::is_directory(store.outDir("h-2")));
    EXPECT_TRUE(fs::exists(dir_ / "pending" / "h-2"));
    store.markDone("h-2");
    EXPECT_FALSE(fs::exists(dir_ / "pending" / "h-2"));
}

TEST_F(StateStoreTest, IdsNeverRepeatAcrossRestartsOrLostCounter) {
    {
        StateStore store(dir_);
        store.create(record(store), "x");
        store.create(record(store), "x");
    }
    StateStore again(dir_);
    EXPECT_EQ(again.allocateNumber(), 3u);
    // Even with the counter gone, a number on disk is never handed out again.
    fs::remove(dir_ / "next-id");
    StateStore fresh(dir_);
    EXPECT_EQ(fresh.allocateNumber(), 3u);
    EXPECT_EQ(fresh.allocateNumber(), 4u);
}

TEST_F(StateStoreTest, CorruptRecordIsSkippedAndReported) {
    StateStore store(dir_);
    store.create(record(store), "x");
    store.create(record(store), "x");
    imagebuild::writeFileAtomic(store.buildDir("h-1") / "record.json", "{\"id\": ");
    fs::create_directories(dir_ / "builds" / "h-9");
    imagebuild::writeFileAtomic(dir_ / "builds" / "h-9" / "record.json",
                                R"({"id": "h-9", "state": "exploded"})");
    std::vector<std::string> corrupt;
    auto all = load(store, &corrupt);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].id, "h-2");
    std::sort(corrupt.begin(), corrupt.end());
    EXPECT_EQ(corrupt, (std::vector<std::string>{"h-1", "h-9"}));
}

TEST_F(StateStoreTest, SaveReplacesTheRecordAtomically) {
    StateStore store(dir_);
    auto r = record(store);
    store.create(r, "x");
    r.state = "succeeded";
    r.result = "succeeded";
    r.exitStatus = 0;
    store.save(r);
    std::vector<std::string> corrupt;
    auto all = load(store, &corrupt);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].result, "succeeded");
    EXPECT_EQ(all[0].exitStatus, 0);
    // Only record.json, ks.cfg, out/ and work/: no temporary left behind.
    EXPECT_EQ(std::distance(fs::directory_iterator(store.buildDir(r.id)), fs::directory_iterator()),
              4);
}

TEST_F(StateStoreTest, PathLikeIdsNeverBecomePaths) {
    StateStore store(dir_);
    EXPECT_THROW(store.buildDir("../x"), std::invalid_argument);
    EXPECT_THROW(store.buildDir("h-1/../../etc"), std::invalid_argument);
    EXPECT_THROW(store.readKickstart("/etc/passwd"), std::invalid_argument);
}

TEST_F(StateStoreTest, OutcomeFileIsRead) {
    StateStore store(dir_);
    auto r = record(store);
    store.create(r, "x");
    EXPECT_FALSE(store.readOutcome(r.id).has_value());
    imagebuild::writeFileAtomic(store.buildDir(r.id) / "outcome",
                                "SERVICE_RESULT=exit-code\nEXIT_CODE=exited\nEXIT_STATUS=3\n");
    auto o = store.readOutcome(r.id);
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->serviceResult, "exit-code");
    EXPECT_EQ(o->exitStatus, "3");
}

TEST_F(StateStoreTest, RemoveDeletesTheBuildAndNumbersNeverRepeat) {
    StateStore store(dir_);
    store.create(record(store), "x");
    store.create(record(store), "x");
    imagebuild::writeFileAtomic(store.outDir("h-1") / "image.iso", "iso");
    store.remove("h-1");
    EXPECT_FALSE(fs::exists(store.buildDir("h-1")));
    EXPECT_FALSE(fs::exists(dir_ / "pending" / "h-1"));
    std::vector<std::string> corrupt;
    auto all = load(store, &corrupt);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].id, "h-2");
    EXPECT_TRUE(corrupt.empty());
    EXPECT_EQ(StateStore(dir_).allocateNumber(), 3u);
}
