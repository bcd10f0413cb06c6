// `imagebuildctl token new`: its line is one the forwarder's tokens file
// accepts, and it grants exactly the printed token with the asked role.
#include <gtest/gtest.h>

#include "ctl/ctl_error.hpp"
#include "ctl/token.hpp"
#include "forwarder/tokens.hpp"

namespace imagebuild::ctl {
namespace {

TEST(CtlToken, LineIsAcceptedByTheForwarderAndGrantsTheToken) {
    auto created = makeToken({"alice", "admin"});
    EXPECT_EQ(created.token.size(), 64U);
    auto store = forwarder::TokenStore::parse(created.line + "\n", "tokens");
    ASSERT_EQ(store.size(), 1U);
    auto who = store.verify(created.token);
    ASSERT_TRUE(who.has_value());
    EXPECT_EQ(who->name, "alice");
    EXPECT_EQ(who->role, forwarder::TokenRole::Admin);
    EXPECT_FALSE(store.verify(created.token + "x").has_value());
}

TEST(CtlToken, EachTokenIsNew) {
    EXPECT_NE(makeToken({"bob", "write"}).token, makeToken({"bob", "write"}).token);
}

TEST(CtlToken, TheLineHoldsTheHashNotTheToken) {
    auto created = makeToken({"carol", "read"});
    EXPECT_EQ(created.line.find(created.token), std::string::npos);
    EXPECT_EQ(created.line.rfind("carol ", 0), 0U);
    EXPECT_EQ(created.line.substr(created.line.size() - 5), " read");
}

TEST(CtlToken, BadNameOrRoleIsAUsageErrorNamingIt) {
    try {
        makeToken({"alice", "owner"});
        FAIL() << "no error";
    } catch (const CtlError& e) {
        EXPECT_EQ(e.exitCode(), 2);
        EXPECT_NE(std::string(e.what()).find("'owner' is not one of read, write, admin"),
                  std::string::npos);
    }
    EXPECT_THROW(makeToken({"two words", "write"}), CtlError);
    EXPECT_THROW(makeToken({"", "write"}), CtlError);
}

}  // namespace
}  // namespace imagebuild::ctl
