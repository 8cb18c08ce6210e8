#include "http/detail/websocket_frame.hpp"

#include <string>

#include <gtest/gtest.h>

#include "core/text.hpp"
#include "http/detail/websocket_connection.hpp"

namespace onda::http::detail {
namespace {

using Kind = Incoming::Kind;

// A client frame (masked, as RFC 6455 requires of clients), with control over every head bit.
std::string client_frame(unsigned opcode, std::string_view payload, bool fin = true, unsigned char extra_bits = 0) {
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0) | extra_bits | opcode);
    std::size_t const n = payload.size();
    if (n < 126) {
        out += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n & 0xFF);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i) out += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF);
    }
    std::string const mask = "\x12\x34\x56\x78";
    out += mask;
    for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(payload[i] ^ mask[i % 4]);
    return out;
}

std::string close_frame(std::uint16_t code, std::string_view reason = {}) {
    return client_frame(0x8, encode_close_payload(code, reason));
}

TEST(WebSocketFrame, ATextMessageIsUnmasked) {
    MessageReader reader(1000);
    reader.feed(client_frame(0x1, "hello"));
    auto in = reader.next();
    EXPECT_EQ(in.kind, Kind::message);
    EXPECT_EQ(in.data, "hello");
    EXPECT_FALSE(in.binary);
    EXPECT_EQ(reader.next().kind, Kind::none);
    EXPECT_TRUE(reader.idle());
}

TEST(WebSocketFrame, AReaderThatReadEverythingHoldsNoMemory) {
    // 10,000 idle WebSockets each keep a reader: the buffer of their last read must not stay.
    MessageReader reader(100'000);
    std::string const big(300, 'a');
    reader.feed(client_frame(0x1, big) + client_frame(0x1, "x").substr(0, 3));
    EXPECT_EQ(reader.next().data, big);
    EXPECT_EQ(reader.next().kind, Kind::none);
    EXPECT_GT(reader.held_bytes(), 0u) << "a frame's first bytes wait in the buffer";
    reader.feed(client_frame(0x1, "x").substr(3));
    EXPECT_EQ(reader.next().data, "x");
    EXPECT_EQ(reader.next().kind, Kind::none);
    EXPECT_TRUE(reader.idle());
    EXPECT_EQ(reader.held_bytes(), 0u);
}

TEST(WebSocketFrame, BytesArrivingOneAtATimeMakeTheSameMessages) {
    std::string const big(70'000, 'x');  // a 64-bit length
    std::string const wire = client_frame(0x2, "\x01\x02") + client_frame(0x1, std::string(300, 'a')) +
                             client_frame(0x1, big) + client_frame(0x9, "p");
    MessageReader reader(100'000);
    std::vector<Incoming> seen;
    for (char c : wire) {
        reader.feed(std::string_view(&c, 1));
        for (auto in = reader.next(); in.kind != Kind::none; in = reader.next()) seen.push_back(std::move(in));
    }
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_TRUE(seen[0].binary);
    EXPECT_EQ(seen[0].data, std::string("\x01\x02"));
    EXPECT_EQ(seen[1].data, std::string(300, 'a'));
    EXPECT_EQ(seen[2].data, big);
    EXPECT_EQ(seen[3].kind, Kind::ping);
    EXPECT_EQ(seen[3].data, "p");
    EXPECT_TRUE(reader.idle());
}

TEST(WebSocketFrame, FragmentsJoinAndControlFramesMayComeBetweenThem) {
    MessageReader reader(1000);
    reader.feed(client_frame(0x1, "he", false) + client_frame(0x9, "ping!") + client_frame(0x0, "ll", false) +
                client_frame(0x0, "o"));
    auto ping = reader.next();
    EXPECT_EQ(ping.kind, Kind::ping);
    EXPECT_EQ(ping.data, "ping!");
    EXPECT_FALSE(reader.idle());  // a message is in progress
    auto message = reader.next();
    EXPECT_EQ(message.kind, Kind::message);
    EXPECT_EQ(message.data, "hello");
}

TEST(WebSocketFrame, ACloseCarriesItsCodeAndReason) {
    MessageReader reader(1000);
    reader.feed(close_frame(4000, "bye"));
    auto in = reader.next();
    EXPECT_EQ(in.kind, Kind::close);
    EXPECT_EQ(in.code, 4000);
    EXPECT_EQ(in.data, "bye");

    MessageReader bare(1000);
    bare.feed(client_frame(0x8, ""));
    EXPECT_EQ(bare.next().code, close_code::none_received);
}

void expect_violation(std::string const& wire, std::uint16_t code, std::size_t max = 1000) {
    MessageReader reader(max);
    reader.feed(wire);
    auto in = reader.next();
    EXPECT_EQ(in.kind, Kind::violation) << in.data;
    EXPECT_EQ(in.code, code) << in.data;
    reader.feed(client_frame(0x1, "more"));
    EXPECT_EQ(reader.next().kind, Kind::violation);  // nothing after a violation is read
}

TEST(WebSocketFrame, ProtocolViolationsAreRefusedWithTheRightCloseCode) {
    std::string unmasked = client_frame(0x1, "hi");
    unmasked[1] = static_cast<char>(unmasked[1] & 0x7F);
    expect_violation(unmasked, close_code::protocol_error);
    expect_violation(client_frame(0x1, "hi", true, 0x40), close_code::protocol_error);  // RSV1
    expect_violation(client_frame(0x3, "hi"), close_code::protocol_error);              // reserved opcode
    expect_violation(client_frame(0x9, "hi", false), close_code::protocol_error);       // fragmented ping
    expect_violation(client_frame(0x9, std::string(126, 'p')), close_code::protocol_error);
    expect_violation(client_frame(0x0, "hi"), close_code::protocol_error);  // continuation first
    expect_violation(client_frame(0x1, "a", false) + client_frame(0x1, "b"), close_code::protocol_error);
    expect_violation(client_frame(0x8, "x"), close_code::protocol_error);              // 1-byte close payload
    expect_violation(close_frame(1005), close_code::protocol_error);                   // a code no one may send
    expect_violation(client_frame(0x1, "\xC0\xAF"), close_code::invalid_payload);      // overlong '/'
    expect_violation(client_frame(0x1, "\xED\xA0\x80"), close_code::invalid_payload);  // a surrogate
    expect_violation(client_frame(0x1, std::string(1001, 'a')), close_code::too_big);
    expect_violation(client_frame(0x1, std::string(600, 'a'), false) + client_frame(0x0, std::string(600, 'a')),
                     close_code::too_big);
    // 126 in the 16-bit length: the 7-bit field should have been used.
    std::string padded = client_frame(0x1, std::string(200, 'a'));
    padded[2] = 0;
    padded[3] = 100;
    expect_violation(padded, close_code::protocol_error);
}

TEST(WebSocketFrame, ATooLargeMessageIsRefusedFromItsHeadAlone) {
    MessageReader reader(1000);
    std::string const head = client_frame(0x2, std::string(5000, 'a')).substr(0, 8);  // head and mask only
    reader.feed(head);
    EXPECT_EQ(reader.next().code, close_code::too_big);
}

TEST(WebSocketFrame, Utf8SplitAcrossFragmentsIsValid) {
    MessageReader reader(1000);
    std::string const euro = "\xE2\x82\xAC";
    reader.feed(client_frame(0x1, euro.substr(0, 1), false) + client_frame(0x0, euro.substr(1)));
    auto in = reader.next();
    EXPECT_EQ(in.kind, Kind::message);
    EXPECT_EQ(in.data, euro);
}

TEST(WebSocketFrame, ServerFrameHeadsUseTheShortestLength) {
    unsigned char head[max_server_head_bytes];
    EXPECT_EQ(write_frame_header(Opcode::text, 125, head), 2u);
    EXPECT_EQ(head[0], 0x81);
    EXPECT_EQ(head[1], 125);
    EXPECT_EQ(write_frame_header(Opcode::binary, 126, head), 4u);
    EXPECT_EQ(head[1], 126);
    EXPECT_EQ(head[3], 126);
    EXPECT_EQ(write_frame_header(Opcode::binary, 65536, head), 10u);
    EXPECT_EQ(head[1], 127);
    EXPECT_EQ(head[7], 1);  // 0x00010000, big-endian over bytes 2..9
}

TEST(WebSocketFrame, CloseReasonsAreCutAtACharacterBoundary) {
    std::string reason(122, 'a');
    reason += "\xE2\x82\xAC";  // would end at byte 125: the euro sign does not fit in 123
    auto payload = encode_close_payload(1000, reason);
    EXPECT_EQ(payload.size(), 2u + 122u);
    EXPECT_TRUE(onda::is_valid_utf8(payload.substr(2)));
}

TEST(WebSocketHandshake, TheAcceptKeyIsTheOneOfRfc6455) {
    auto accept = check_handshake("13", "dGhlIHNhbXBsZSBub25jZQ==");  // RFC 6455 §1.3's example
    ASSERT_TRUE(accept) << accept.error().message();
    EXPECT_EQ(*accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_FALSE(check_handshake("8", "dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_FALSE(check_handshake("13", "c2hvcnQ="));                  // not 16 bytes
    EXPECT_FALSE(check_handshake("13", "dGhlIHNhbXBsZSBub25jZQ!="));  // not base64
    EXPECT_FALSE(check_handshake("13", ""));
}

}  // namespace
}  // namespace onda::http::detail
