// Every error of the one table through every boundary: the agent's name over
// the bus to imagebuildctl, and the same name through the forwarder's HTTP
// answer to imagebuildctl, must end with the same exit status; and the
// documentation lists every row as the table has it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "common/dbus_names.hpp"
#include "common/error_table.hpp"
#include "common/exit_codes.hpp"
#include "ctl/error_map.hpp"
#include "forwarder/dbus_errors.hpp"
#include "tests/unit/read_doc.hpp"

using namespace imagebuild;
using ::testing::HasSubstr;

namespace {

// The paragraph of one exit status in the man page's EXIT STATUS section.
std::string manExitParagraph(const std::string& man, int code) {
    auto section = man.substr(man.find(".SH EXIT STATUS"));
    section = section.substr(0, section.find("\n.SH ", 1));
    auto start = section.find(fmt::format(".TP\n.B {}\n", code));
    if (start == std::string::npos) {
        return {};
    }
    auto end = section.find(".TP\n", start + 1);
    return section.substr(start, end - start);
}

// The names the agent raises itself (common/dbus_names.hpp).
const std::vector<std::string> kAgentNames{
    dbus_names::error::kInvalidSpec,
    dbus_names::error::kNotFound,
    dbus_names::error::kAccessDenied,
    dbus_names::error::kUnsupported,
    dbus_names::error::kQueueFull,
    dbus_names::error::kAlreadyFinished,
    dbus_names::error::kInternal,
    dbus_names::error::kInvalidPackage,
    dbus_names::error::kUploadTooLarge,
    // The agent refuses ListBuilds filters of the wrong shape with the bus's own.
    "org.freedesktop.DBus.Error.InvalidArgs",
};

}  // namespace

TEST(ErrorTable, EveryNameTheAgentRaisesHasARow) {
    for (const auto& name : kAgentNames) {
        EXPECT_NE(errorByDbusName(name), nullptr) << name;
    }
}

TEST(ErrorTable, NamesAreUniqueAndRowsSharingAnHttpNameAgree) {
    std::set<std::string_view> seen;
    for (const auto& row : errorRows()) {
        EXPECT_TRUE(seen.insert(row.dbusName).second) << row.dbusName;
        const auto* first = errorByHttpName(row.httpName);
        ASSERT_NE(first, nullptr);
        EXPECT_EQ(first->httpStatus, row.httpStatus) << row.dbusName;
        EXPECT_EQ(first->exitCode, row.exitCode) << row.dbusName;
        EXPECT_FALSE(row.sentence.empty()) << row.dbusName;
    }
}

TEST(ErrorTable, BusAndHttpEndWithTheSameExitStatus) {
    const std::string url = "http://b:8080";
    for (const auto& row : errorRows()) {
        std::string name(row.dbusName);
        auto direct = ctl::mapDbusError(name, "what went wrong");
        EXPECT_EQ(direct.exitCode, row.exitCode) << name;
        EXPECT_THAT(direct.message, HasSubstr(std::string(row.sentence))) << name;

        auto response = forwarder::responseForDbusError(sdbus::Error(name, "what went wrong"));
        EXPECT_EQ(response.status, row.httpStatus) << name;
        EXPECT_EQ(forwarder::statusForDbusError(name), row.httpStatus) << name;
        auto body = nlohmann::json::parse(response.body);
        auto http = ctl::mapHttpError(static_cast<int>(response.status),
                                      body.at("error").get<std::string>(),
                                      body.at("message").get<std::string>(), url);
        EXPECT_EQ(http.exitCode, direct.exitCode) << name;
        EXPECT_THAT(http.message, HasSubstr("what went wrong")) << name;
    }
}

TEST(ErrorTable, SystemdRefusingActivationIsTheAgentNotRunning) {
    const auto* row = errorByDbusName("org.freedesktop.systemd1.LoadFailed");
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->httpName, "AgentUnavailable");
    EXPECT_EQ(row->exitCode, kExitUnreachable);
}

TEST(ErrorTable, UnknownNamesAreInternalEverywhere) {
    EXPECT_EQ(errorByDbusName("com.example.Weird"), nullptr);
    EXPECT_EQ(forwarder::statusForDbusError("com.example.Weird"), 500u);
    EXPECT_EQ(ctl::mapDbusError("com.example.Weird", "boom").exitCode, kExitFailure);
}

TEST(ErrorTable, TheHttpDocumentationPrintsEveryRow) {
    auto doc = readDoc("docs/imagebuild-forwarder.md");
    for (const auto& row : errorRows()) {
        auto line = fmt::format("| `{}` | {} | `{}` | {} |", row.dbusName, row.httpStatus,
                                row.httpName, row.exitCode);
        EXPECT_THAT(doc, HasSubstr(line));
        // ... and the list of the forwarder's answers has its name under its status.
        std::regex answer(fmt::format(R"(\n\| {} \| [^\n]*`{}`)", row.httpStatus, row.httpName));
        EXPECT_TRUE(std::regex_search(doc, answer)) << row.httpName;
    }
}

TEST(ErrorTable, TheManPageNamesEveryErrorUnderItsExitStatus) {
    auto man = readDoc("docs/imagebuildctl.1");
    for (const auto& row : errorRows()) {
        EXPECT_THAT(manExitParagraph(man, row.exitCode), HasSubstr(std::string(row.httpName)))
            << row.dbusName;
    }
}

TEST(ErrorTable, TheDbusDocumentationListsEveryNameTheAgentRaises) {
    auto doc = readDoc("docs/org.imagebuild.BuildManager1.md");
    auto xml = readDoc("dbus/org.imagebuild.BuildManager1.xml");
    for (const auto& name : kAgentNames) {
        EXPECT_THAT(doc, HasSubstr("| `" + name + "` |"));
        if (name.rfind("org.imagebuild.", 0) == 0) {
            EXPECT_THAT(xml, HasSubstr(name));
        }
    }
}
