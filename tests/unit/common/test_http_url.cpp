#include "common/http_url.hpp"

#include <gtest/gtest.h>

using imagebuild::parseHttpUrl;

TEST(HttpUrl, SplitsHostPortAndTarget) {
    auto u = parseHttpUrl("http://ci.example:8080/hooks/imagebuild?x=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "ci.example");
    EXPECT_EQ(u->port, "8080");
    EXPECT_EQ(u->target, "/hooks/imagebuild?x=1");
    EXPECT_EQ(u->hostHeader(), "ci.example:8080");
}

TEST(HttpUrl, DefaultsToPort80AndRoot) {
    auto u = parseHttpUrl("http://127.0.0.1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, "80");
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->hostHeader(), "127.0.0.1");
    EXPECT_EQ(parseHttpUrl("http://h?q")->target, "/?q");
}

TEST(HttpUrl, Ipv6Literals) {
    auto u = parseHttpUrl("http://[::1]:9000/h");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, "9000");
    EXPECT_EQ(u->hostHeader(), "[::1]:9000");
    EXPECT_FALSE(parseHttpUrl("http://[::1/h"));
    EXPECT_FALSE(parseHttpUrl("http://[zz]/h"));
}

TEST(HttpUrl, RefusesWhatCannotBePostedWithAReason) {
    std::string why;
    EXPECT_FALSE(parseHttpUrl("https://ci/h", &why));
    EXPECT_NE(why.find("https is not supported"), std::string::npos) << why;
    for (const char* bad : {"", "ci/h", "ftp://ci/", "http://", "http://:80/", "http://ci:/",
                            "http://ci:0/", "http://ci:65536/", "http://ci:8x/", "http://u@ci/",
                            "http://ci/a b", "http://ci/#frag", "http://ci/\n", "http://c%i/"}) {
        why.clear();
        EXPECT_FALSE(parseHttpUrl(bad, &why)) << bad;
        EXPECT_NE(why.find("http://HOST[:PORT][/PATH]"), std::string::npos) << bad << ": " << why;
    }
    EXPECT_FALSE(parseHttpUrl("http://ci/" + std::string(3000, 'a'), &why));
    EXPECT_NE(why.find("longer than"), std::string::npos);
}
