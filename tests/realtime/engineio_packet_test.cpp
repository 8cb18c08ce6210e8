#include "realtime/engineio_packet.hpp"

#include <gtest/gtest.h>

namespace onda::realtime {
namespace {

EnginePacket text_packet(EngineType type, std::string data = {}) { return EnginePacket{type, std::move(data), false}; }

TEST(EngineIoPacket, DecodesEveryTypeWithItsData) {
    struct Case {
        std::string_view text;
        EngineType type;
        std::string_view data;
    };
    for (auto const& c :
         {Case{"0{\"sid\":\"x\"}", EngineType::open, "{\"sid\":\"x\"}"}, Case{"1", EngineType::close, ""},
          Case{"2", EngineType::ping, ""}, Case{"2probe", EngineType::ping, "probe"},
          Case{"3probe", EngineType::pong, "probe"}, Case{"4hello", EngineType::message, "hello"},
          Case{"5", EngineType::upgrade, ""}, Case{"6", EngineType::noop, ""}}) {
        auto packet = decode_engine_text(c.text);
        ASSERT_TRUE(packet) << c.text;
        EXPECT_EQ(packet->type, c.type) << c.text;
        EXPECT_EQ(packet->data, c.data) << c.text;
        EXPECT_FALSE(packet->binary);
    }
}

TEST(EngineIoPacket, AMessageMayCarryAnyTextIncludingSeparatorsOfOtherLayers) {
    auto packet = decode_engine_text("42[\"a\",{\"b\":\"4\\u001e\"}]");
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->data, "2[\"a\",{\"b\":\"4\\u001e\"}]");
}

TEST(EngineIoPacket, RefusesAnEmptyPacket) { EXPECT_FALSE(decode_engine_text("")); }

TEST(EngineIoPacket, RefusesUnknownTypes) {
    for (std::string_view text : {"7", "9x", "x", "b4", "/", "\x1e", "\xff"})
        EXPECT_EQ(decode_engine_text(text).error().code(), Errc::invalid_argument) << text;
}

TEST(EngineIoPacket, ABinaryWebSocketMessageIsAMessagePacket) {
    auto packet = engine_binary(std::string("\x00\x01\xff", 3));
    EXPECT_EQ(packet.type, EngineType::message);
    EXPECT_TRUE(packet.binary);
    EXPECT_EQ(packet.data, std::string("\x00\x01\xff", 3));
}

TEST(EngineIoPayload, SplitsOnTheRecordSeparator) {
    auto packets = decode_engine_payload(
        "4hello\x1e"
        "4world\x1e"
        "3",
        10);
    ASSERT_TRUE(packets);
    ASSERT_EQ(packets->size(), 3u);
    EXPECT_EQ((*packets)[0], text_packet(EngineType::message, "hello"));
    EXPECT_EQ((*packets)[1], text_packet(EngineType::message, "world"));
    EXPECT_EQ((*packets)[2], text_packet(EngineType::pong));
}

TEST(EngineIoPayload, DecodesBase64BinaryPackets) {
    auto packets = decode_engine_payload(
        "4hello\x1e"
        "bAQIDBA==",
        10);
    ASSERT_TRUE(packets);
    ASSERT_EQ(packets->size(), 2u);
    EXPECT_EQ((*packets)[1], engine_binary(std::string("\x01\x02\x03\x04", 4)));
}

TEST(EngineIoPayload, AnEmptyBinaryPacketIsEmptyBytes) {
    auto packets = decode_engine_payload("b", 10);
    ASSERT_TRUE(packets);
    EXPECT_EQ((*packets)[0], engine_binary(""));
}

TEST(EngineIoPayload, RefusesMalformedBodies) {
    for (std::string_view body : {"", "\x1e", "4a\x1e",
                                  "\x1e"
                                  "4a",
                                  "4a\x1e\x1e"
                                  "4b",
                                  "4a\x1e"
                                  "9",
                                  "b!!!!", "bAQIDBA",
                                  "4a\x1e"
                                  "bA===",
                                  "x"})
        EXPECT_FALSE(decode_engine_payload(body, 10)) << testing::PrintToString(std::string(body));
}

TEST(EngineIoPayload, RefusesMorePacketsThanAllowed) {
    EXPECT_TRUE(
        decode_engine_payload("3\x1e"
                              "3\x1e"
                              "3",
                              3));
    auto packets = decode_engine_payload(
        "3\x1e"
        "3\x1e"
        "3\x1e"
        "3",
        3);
    ASSERT_FALSE(packets);
    EXPECT_NE(packets.error().message().find("more than 3"), std::string::npos);
}

TEST(EngineIoPayload, EncodesTextAndBinaryFramesAndDecodesThemBack) {
    std::string payload;
    append_engine_payload(payload, encode_engine_text(EngineType::message, "2[\"x\"]"), false);
    append_engine_payload(payload, std::string("\x00\xfe\xff", 3), true);
    append_engine_payload(payload, encode_engine_text(EngineType::ping), false);
    EXPECT_EQ(payload,
              "42[\"x\"]\x1e"
              "bAP7/\x1e"
              "2");
    auto packets = decode_engine_payload(payload, 10);
    ASSERT_TRUE(packets);
    ASSERT_EQ(packets->size(), 3u);
    EXPECT_EQ((*packets)[0], text_packet(EngineType::message, "2[\"x\"]"));
    EXPECT_EQ((*packets)[1], engine_binary(std::string("\x00\xfe\xff", 3)));
    EXPECT_EQ((*packets)[2], text_packet(EngineType::ping));
}

TEST(EngineIoPayload, OneFrameIsThePayloadItself) {
    std::string payload;
    append_engine_payload(payload, "6", false);
    EXPECT_EQ(payload, "6");
}

}  // namespace
}  // namespace onda::realtime
