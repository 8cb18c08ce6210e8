#include "http/sse.hpp"

#include <gtest/gtest.h>

namespace onda::http {
namespace {

TEST(SseEvent, NameIdAndDataEachOnTheirLineThenABlankLine) {
    EXPECT_EQ(format_sse_event({.name = "upload_progress", .id = "ab12-7", .data = R"({"percentage":42})"}),
              "event: upload_progress\nid: ab12-7\ndata: {\"percentage\":42}\n\n");
}

TEST(SseEvent, WithoutNameOrIdOnlyDataIsSent) { EXPECT_EQ(format_sse_event({.data = "hello"}), "data: hello\n\n"); }

TEST(SseEvent, EmptyDataStillSendsOneDataLine) {
    EXPECT_EQ(format_sse_event({.name = "reset"}), "event: reset\ndata: \n\n");
}

TEST(SseEvent, MultiLineDataBecomesOneDataLinePerLine) {
    EXPECT_EQ(format_sse_event({.data = "a\nb\n\nc"}), "data: a\ndata: b\ndata: \ndata: c\n\n");
}

TEST(SseEvent, CrAndCrLfAlsoEndDataLines) {
    EXPECT_EQ(format_sse_event({.data = "a\r\nb\rc"}), "data: a\ndata: b\ndata: c\n\n");
}

TEST(SseEvent, TrailingNewlineInDataGivesAnEmptyLastLine) {
    // The client joins data lines with \n, so the payload's trailing newline survives.
    EXPECT_EQ(format_sse_event({.data = "x\n"}), "data: x\ndata: \n\n");
}

TEST(SseEvent, LineBreaksCannotSmuggleFieldsThroughNameOrId) {
    EXPECT_EQ(format_sse_event({.name = "a\ndata: evil", .id = "1\r\nevent: x", .data = "d"}),
              "event: adata: evil\nid: 1event: x\ndata: d\n\n");
}

TEST(SseEvent, NulIsDroppedFromIds) {
    std::string id("a\0b", 3);
    EXPECT_EQ(format_sse_event({.id = id, .data = "d"}), "id: ab\ndata: d\n\n");
}

TEST(SseEvent, AppendGathersSeveralEvents) {
    std::string out;
    append_sse_event(out, {.name = "a", .data = "1"});
    append_sse_event(out, {.name = "b", .data = "2"});
    EXPECT_EQ(out, "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
}

TEST(SseComment, IsAColonLineAndABlankLine) {
    EXPECT_EQ(format_sse_comment("keepalive"), ": keepalive\n\n");
    EXPECT_EQ(format_sse_comment("two\nlines"), ": two\n: lines\n\n");
}

TEST(SseRetry, IsInMilliseconds) {
    EXPECT_EQ(format_sse_retry(std::chrono::seconds(3)), "retry: 3000\n\n");
    EXPECT_EQ(format_sse_retry(std::chrono::milliseconds(-5)), "retry: 0\n\n");
}

TEST(SseId, AloneSetsTheLastEventIdWithoutAnEvent) {
    EXPECT_EQ(format_sse_id("e1-0"), "id: e1-0\n\n");
    EXPECT_EQ(format_sse_id("e1\n-0"), "id: e1-0\n\n");
}

TEST(SseResponse, CarriesTheEventStreamHeaders) {
    auto response = sse_response();
    EXPECT_EQ(response.status(), 200u);
    EXPECT_EQ(response.header("Content-Type"), "text/event-stream");
    EXPECT_EQ(response.header("Cache-Control"), "no-store");
    EXPECT_EQ(response.header("X-Accel-Buffering"), "no");
}

}  // namespace
}  // namespace onda::http
