#include <gtest/gtest.h>

#include "common/sha256.hpp"
#include "forwarder/auth.hpp"
#include "forwarder/tokens.hpp"

using namespace imagebuild::forwarder;

namespace {

// sha256("secret") and sha256("reader")
const std::string kSecretHash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
const std::string kReaderHash = "3d0941964aa3ebdcb00ccef58b1bb399f9f898465e9886d5aec7f31090a0fb30";

TokenStore store() {
    return TokenStore::parse(
        "# who  sha256(token)  role\n"
        "alice " +
            kSecretHash +
            "\n"
            "\n"
            "carol " +
            kReaderHash + " read  # dashboards\n" + "fleet " +
            imagebuild::sha256Hex("fleet-secret") + "\n",
        "tokens");
}

Request withToken(const std::string& token) {
    Request r;
    r.headers["authorization"] = "Bearer " + token;
    return r;
}

// A request as peers of older versions forwarded it: `token` and the user it
// claims to act for.
Request onBehalfOf(const std::string& token, const std::string& submitter) {
    auto r = withToken(token);
    r.headers["x-imagebuild-submitter"] = submitter;
    return r;
}

}  // namespace

TEST(ForwarderTokens, Sha256MatchesKnownVectors) {
    EXPECT_EQ(imagebuild::sha256Hex("secret"), kSecretHash);
    EXPECT_EQ(imagebuild::sha256Hex(""),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ForwarderTokens, VerifyFindsTheNameAndRole) {
    auto tokens = store();
    EXPECT_EQ(tokens.size(), 3u);
    auto alice = tokens.verify("secret");
    ASSERT_TRUE(alice);
    EXPECT_EQ(alice->name, "alice");
    EXPECT_EQ(alice->role, TokenRole::Write);
    auto carol = tokens.verify("reader");
    ASSERT_TRUE(carol);
    EXPECT_EQ(carol->role, TokenRole::Read);
    EXPECT_FALSE(tokens.verify("secre"));
    EXPECT_FALSE(tokens.verify(kSecretHash));  // the hash itself is not the token
    EXPECT_FALSE(tokens.verify(""));
    // Upper-case hex in the file is the same hash.
    std::string upper = kSecretHash;
    for (auto& c : upper) {
        c = static_cast<char>(std::toupper(c));
    }
    EXPECT_EQ(TokenStore::parse("dave " + upper, "t").verify("secret")->name, "dave");
}

TEST(ForwarderTokens, MalformedLinesNameFileAndLine) {
    try {
        TokenStore::parse("alice " + kSecretHash + "\nbob 1234\n", "/etc/imagebuild/tokens");
        FAIL() << "accepted a short hash";
    } catch (const TokenError& e) {
        EXPECT_STREQ(e.what(), "/etc/imagebuild/tokens:2: '1234' is not a sha256 (64 hex digits)");
    }
    EXPECT_THROW(TokenStore::parse("alice\n", "t"), TokenError);
    try {
        TokenStore::parse("alice " + kSecretHash + " root\n", "t");
        FAIL() << "accepted an unknown role";
    } catch (const TokenError& e) {
        EXPECT_STREQ(e.what(), "t:1: role 'root' is not 'read', 'write' or 'admin'");
    }
    // The name becomes the builds' submitter: at most 64 characters.
    try {
        TokenStore::parse(std::string(65, 'a') + " " + kSecretHash + "\n", "t");
        FAIL() << "accepted a 65-character name";
    } catch (const TokenError& e) {
        EXPECT_STREQ(e.what(), "t:1: the name is 65 characters long; at most 64 are allowed");
    }
    EXPECT_THROW(TokenStore::parse("bad\xff " + kSecretHash + "\n", "t"), TokenError);
    EXPECT_THROW(TokenStore::parse("alice " + kSecretHash + " read extra\n", "t"), TokenError);
}

TEST(ForwarderTokens, MissingFileIsEmptyStore) {
    EXPECT_EQ(TokenStore::load("/nonexistent/imagebuild/tokens").size(), 0u);
}

TEST(ForwarderAuth, AnonymousReadsFollowReadOpen) {
    auto tokens = store();
    Request r;
    EXPECT_FALSE(authorize(r, Access::Read, tokens, {true, "fleet"}));
    EXPECT_EQ(r.identity, "");
    auto denied = authorize(r, Access::Read, tokens, {false, "fleet"});
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->status, 401u);
}

TEST(ForwarderAuth, WritesNeedAValidWriteToken) {
    auto tokens = store();
    Request none;
    auto missing = authorize(none, Access::Write, tokens, {});
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 401u);
    EXPECT_NE(missing->body.find("\"error\":\"Unauthorized\""), std::string::npos);

    auto wrong = withToken("nope");
    ASSERT_TRUE(authorize(wrong, Access::Write, tokens, {}));
    EXPECT_EQ(authorize(wrong, Access::Write, tokens, {})->status, 401u);

    Request basic;
    basic.headers["authorization"] = "Basic YWxpY2U6c2VjcmV0";
    EXPECT_EQ(authorize(basic, Access::Write, tokens, {})->status, 401u);

    auto reader = withToken("reader");
    auto forbidden = authorize(reader, Access::Write, tokens, {});
    ASSERT_TRUE(forbidden);
    EXPECT_EQ(forbidden->status, 403u);

    auto alice = withToken("secret");
    EXPECT_FALSE(authorize(alice, Access::Write, tokens, {}));
    EXPECT_EQ(alice.identity, "alice");
}

TEST(ForwarderAuth, NoTokenMayActForAnotherUser) {
    auto tokens = store();
    // Not even the fleet token: a peer passes the user's own token on.
    for (const char* token : {"fleet-secret", "reader", "secret"}) {
        auto claim = onBehalfOf(token, "alice");
        auto refused = authorize(claim, Access::Read, tokens, {true, "fleet"});
        ASSERT_TRUE(refused) << token;
        EXPECT_EQ(refused->status, 400u);
        EXPECT_NE(refused->body.find("X-Imagebuild-Submitter is not accepted"), std::string::npos);
        EXPECT_EQ(claim.identity, "");
    }
    auto role = withToken("fleet-secret");
    role.headers["x-imagebuild-role"] = "admin";
    auto refused = authorize(role, Access::Read, tokens, {true, "fleet"});
    ASSERT_TRUE(refused);
    EXPECT_NE(refused->body.find("X-Imagebuild-Role is not accepted"), std::string::npos);
}

TEST(ForwarderAuth, TheFleetTokenOnlyReads) {
    auto tokens = store();  // the tokens file says "write" for the fleet token
    auto read = withToken("fleet-secret");
    EXPECT_FALSE(authorize(read, Access::Read, tokens, {false, "fleet"}));
    EXPECT_EQ(read.identity, "fleet");
    EXPECT_EQ(read.role, TokenRole::Read);
    auto write = withToken("fleet-secret");
    auto refused = authorize(write, Access::Write, tokens, {true, "fleet"});
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403u);
    EXPECT_NE(refused->body.find("fleet token 'fleet' may only read"), std::string::npos);
    // Even an admin line cannot make it more.
    auto admin =
        TokenStore::parse("fleet " + imagebuild::sha256Hex("fleet-secret") + " admin\n", "t");
    auto asAdmin = withToken("fleet-secret");
    EXPECT_TRUE(authorize(asAdmin, Access::Write, admin, {true, "fleet"}));
    EXPECT_FALSE(authorize(asAdmin, Access::Read, admin, {true, "fleet"}));
    EXPECT_EQ(asAdmin.role, TokenRole::Read);
}

TEST(ForwarderTokens, RolesAreReadWriteAndAdminDefaultingToWrite) {
    auto tokens =
        TokenStore::parse("ops " + kSecretHash + " admin\nci " + kReaderHash + " write\n", "t");
    EXPECT_EQ(tokens.verify("secret")->role, TokenRole::Admin);
    EXPECT_EQ(tokens.verify("reader")->role, TokenRole::Write);
    EXPECT_EQ(TokenStore::parse("dave " + kSecretHash, "t").verify("secret")->role,
              TokenRole::Write);
    for (auto role : {TokenRole::Read, TokenRole::Write, TokenRole::Admin}) {
        EXPECT_EQ(parseTokenRole(tokenRoleName(role)), role);
    }
    EXPECT_FALSE(parseTokenRole("Admin"));
    EXPECT_FALSE(parseTokenRole(""));
}

TEST(ForwarderAuth, AnAdminTokenWritesAndKeepsItsRole) {
    auto tokens = TokenStore::parse("ops " + kSecretHash + " admin\n", "t");
    auto ops = withToken("secret");
    EXPECT_FALSE(authorize(ops, Access::Write, tokens, {}));
    EXPECT_EQ(ops.identity, "ops");
    EXPECT_EQ(ops.role, TokenRole::Admin);
}

TEST(ForwarderAuth, ABuildIsCancelledByItsTokenOrAnAdmin) {
    imagebuild::BuildInfo build;
    build.id = "a-7";
    build.submitter = "alice";
    build.submitterUid = 998;  // the forwarder's
    Request alice;
    alice.identity = "alice";
    alice.role = TokenRole::Write;
    EXPECT_FALSE(refuseCancel(alice, build, 998));
    Request bob = alice;
    bob.identity = "bob";
    auto refused = refuseCancel(bob, build, 998);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403u);
    EXPECT_NE(refused->body.find("build a-7 was submitted by 'alice'; token 'bob' may cancel only "
                                 "its own builds (an admin token may cancel any)"),
              std::string::npos)
        << refused->body;
    Request ops = bob;
    ops.identity = "ops";
    ops.role = TokenRole::Admin;
    EXPECT_FALSE(refuseCancel(ops, build, 998));
    // Submitted over D-Bus by a user who happens to share the token's name:
    // not the token's build.
    build.submitterUid = 1000;
    refused = refuseCancel(alice, build, 998);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403u);
    EXPECT_NE(refused->body.find("only an admin token may cancel it"), std::string::npos);
    EXPECT_FALSE(refuseCancel(ops, build, 998));
}

TEST(ForwarderAuth, APriorityAboveNormalNeedsAnAdminToken) {
    Request alice;
    alice.identity = "alice";
    alice.role = TokenRole::Write;
    EXPECT_FALSE(refusePriority(alice, 0));
    EXPECT_FALSE(refusePriority(alice, -20));
    auto refused = refusePriority(alice, 1);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403u);
    EXPECT_NE(refused->body.find("priority 1 is above normal (0); token 'alice' may ask 0 or less"),
              std::string::npos)
        << refused->body;
    Request ops = alice;
    ops.role = TokenRole::Admin;
    EXPECT_FALSE(refusePriority(ops, 100));
}
