// The formatting half of build_journal; reading the journal itself is
// covered by the system tests, against a real journald.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "common/build_journal.hpp"

using imagebuild::JournalEntry;

TEST(BuildJournal, ShortFormatIsJournalctls) {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    JournalEntry entry;
    entry.realtimeUsec = 1700000000123456;
    entry.hostname = "builder";
    entry.identifier = "xorriso";
    entry.pid = "42";
    entry.message = "Writing to 'stdio:oemdrv.iso'";
    EXPECT_EQ(imagebuild::formatShort(entry),
              "Nov 14 22:13:20 builder xorriso[42]: Writing to 'stdio:oemdrv.iso'");
    entry.pid.clear();
    EXPECT_EQ(imagebuild::formatShort(entry),
              "Nov 14 22:13:20 builder xorriso: Writing to 'stdio:oemdrv.iso'");
}

TEST(BuildJournal, JsonFormatCarriesEveryFieldAndSurvivesBadUtf8) {
    JournalEntry entry;
    entry.cursor = "s=abc;i=1";
    entry.realtimeUsec = 5;
    entry.message = "hi";
    entry.fields = {{"MESSAGE", "hi"}, {"IMAGEBUILD_ID", "h-1"}, {"BINARY", "\xff\xfe"}};
    auto json = nlohmann::json::parse(imagebuild::formatJson(entry));
    EXPECT_EQ(json["IMAGEBUILD_ID"], "h-1");
    EXPECT_EQ(json["__CURSOR"], "s=abc;i=1");
    EXPECT_EQ(json["__REALTIME_TIMESTAMP"], "5");
    EXPECT_TRUE(json["BINARY"].is_string());
}
