#include <fmt/format.h>
#include <gtest/gtest.h>

#include "forwarder/config.hpp"

using namespace imagebuild::forwarder;

namespace {

std::string errorOf(const std::string& text) {
    try {
        parseConfig(text, "imagebuild.conf");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST(ForwarderConfig, EmptyMeansDefaults) {
    auto c = parseConfig("", "x");
    EXPECT_EQ(c.listen, "0.0.0.0:8470");
    EXPECT_TRUE(c.peers.empty());
    EXPECT_TRUE(c.readOpen);
    EXPECT_EQ(c.maxBodyBytes, 1024u * 1024u);
    EXPECT_EQ(c.maxUploadBytes, 16u * 1024u * 1024u);
    EXPECT_EQ(c.tokensFile.substr(c.tokensFile.size() - 18), "/imagebuild/tokens");
}

TEST(ForwarderConfig, ReadsTheForwarderSectionOnly) {
    auto c = parseConfig(
        "[agent]\n"
        "max_parallel = 4\n"
        "unknown_to_us = 1\n"
        "[forwarder]\n"
        "listen = 127.0.0.2:9000\n"
        "peers = http://127.0.0.3:8470, http://127.0.0.4:8470/\n"
        "public_url = http://a.example:8470\n"
        "tokens = /tmp/tokens\n"
        "health_interval_sec = 1\n"
        "health_timeout_sec = 3\n"
        "read_open = no\n"
        "max_body_bytes = 2048\n"
        "max_upload_bytes = 4096\n",
        "x");
    EXPECT_EQ(c.listen, "127.0.0.2:9000");
    EXPECT_EQ(c.peers,
              (std::vector<std::string>{"http://127.0.0.3:8470", "http://127.0.0.4:8470"}));
    EXPECT_EQ(c.publicUrl, "http://a.example:8470");
    EXPECT_EQ(c.tokensFile, "/tmp/tokens");
    EXPECT_EQ(c.healthIntervalSec, 1u);
    EXPECT_EQ(c.healthTimeoutSec, 3u);
    EXPECT_FALSE(c.readOpen);
    EXPECT_EQ(c.maxBodyBytes, 2048u);
    EXPECT_EQ(c.maxUploadBytes, 4096u);
}

TEST(ForwarderConfig, BadValuesNameFileLineAndKey) {
    EXPECT_EQ(errorOf("[forwarder]\n\nhealth_interval_sec = soon\n"),
              "imagebuild.conf:3: health_interval_sec: 'soon' is not an integer in 1..3600");
    EXPECT_EQ(errorOf("[forwarder]\nread_open = maybe\n"),
              "imagebuild.conf:2: read_open: 'maybe' is not a boolean (yes/no/true/false/1/0)");
    EXPECT_EQ(errorOf("[forwarder]\npeers = https://b:8470\n"),
              "imagebuild.conf:2: peers: 'https://b:8470' is not http://HOST[:PORT]");
    EXPECT_EQ(errorOf("[forwarder]\nlisten = 8470\n"),
              "imagebuild.conf:2: listen: '8470' is not ADDRESS:PORT");
    EXPECT_EQ(errorOf("[forwarder]\nlisten = a:70000\n"),
              "imagebuild.conf:2: listen: 'a:70000' has no valid port (1..65535)");
}

TEST(ForwarderConfig, FirstProbeWait) {
    EXPECT_EQ(parseConfig("", "x").firstProbeWaitSec, 3u);
    EXPECT_EQ(parseConfig("[forwarder]\nfirst_probe_wait_sec = 0\n", "x").firstProbeWaitSec, 0u);
    EXPECT_EQ(errorOf("[forwarder]\nfirst_probe_wait_sec = 61\n"),
              "imagebuild.conf:2: first_probe_wait_sec: '61' is not an integer in 0..60");
}

TEST(ForwarderConfig, UnknownKeysAndSyntaxErrorsAreRejected) {
    EXPECT_EQ(errorOf("[forwarder]\nlisten = 1.2.3.4:1\npeer = http://b\n"),
              "imagebuild.conf:3: unknown key 'peer' in [forwarder]");
    // Every unknown key, in the order of the file, not only the first found.
    EXPECT_EQ(errorOf("[forwarder]\nzone = 1\nlisten = 1.2.3.4:1\npeer = http://b\n"),
              "imagebuild.conf:2: unknown key 'zone' in [forwarder]\n"
              "imagebuild.conf:4: unknown key 'peer' in [forwarder]");
    EXPECT_EQ(errorOf("[forwarder]\nthis is not ini\n"),
              "imagebuild.conf:2: not a [section] or key = value line");
    EXPECT_EQ(errorOf("[forwarder]\nlisten = 1.2.3.4:1\nlisten = 1.2.3.4:2\n"),
              "imagebuild.conf:3: 'listen' is set twice in [forwarder] (first at line 2)");
}

// 100 peers do not fit on one line (inih reads at most 198 characters):
// a long line is an error that says so, and indented lines continue a list.
TEST(ForwarderConfig, PeersContinueOnIndentedLines) {
    std::string longLine = "[forwarder]\npeers =";
    std::string continued = "[forwarder]\npeers =";
    for (int i = 0; i < 20; ++i) {
        longLine += fmt::format(" http://10.0.0.{}:8470", i);
        continued += fmt::format("\n  http://10.0.0.{}:8470", i);
    }
    EXPECT_EQ(errorOf(longLine + "\n"),
              "imagebuild.conf:2: line too long (at most 198 characters; continue a value on an "
              "indented next line)");
    auto config = parseConfig(continued + "\n", "imagebuild.conf");
    ASSERT_EQ(config.peers.size(), 20u);
    EXPECT_EQ(config.peers[19], "http://10.0.0.19:8470");
}

TEST(ForwarderConfig, MissingFileMeansDefaults) {
    EXPECT_EQ(loadConfig("/nonexistent/imagebuild.conf").listen, "0.0.0.0:8470");
}

TEST(ForwarderConfig, SplitHostPort) {
    EXPECT_EQ(splitHostPort("127.0.0.2:8470"),
              (std::pair<std::string, unsigned short>{"127.0.0.2", 8470}));
    EXPECT_EQ(splitHostPort("[::1]:80"), (std::pair<std::string, unsigned short>{"::1", 80}));
    EXPECT_THROW(splitHostPort(":80"), std::invalid_argument);
    EXPECT_THROW(splitHostPort("a:0"), std::invalid_argument);
    EXPECT_THROW(splitHostPort("a:80x"), std::invalid_argument);
}
