#include <gtest/gtest.h>

#include "forwarder/html.hpp"
#include "forwarder/monitor_stream.hpp"
#include "forwarder/sse.hpp"

using namespace imagebuild;
using namespace imagebuild::forwarder;

TEST(ForwarderSse, EventCarriesCursorAsId) {
    EXPECT_EQ(sseEvent("dracut: done", "s=abc;i=12"), "id: s=abc;i=12\ndata: dracut: done\n\n");
}

TEST(ForwarderSse, MultiLineDataBecomesSeveralDataFields) {
    EXPECT_EQ(sseEvent("one\ntwo\r\n", "", "end"), "event: end\ndata: one\ndata: two\ndata: \n\n");
}

TEST(ForwarderSse, FieldsCannotBeInjectedThroughIdOrEvent) {
    EXPECT_EQ(sseEvent("x", "a\nid: b", "e\nf"), "id: aid: b\nevent: ef\ndata: x\n\n");
    EXPECT_EQ(sseComment("keep\nalive"), ": keepalive\n\n");
}
