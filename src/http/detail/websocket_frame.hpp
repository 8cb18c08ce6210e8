// The WebSocket wire format of RFC 6455 §5 as a server sees it, without I/O: MessageReader turns the
// bytes a client sends, fed as they arrive, into whole messages and control frames, and enforces
// the rules a server must (every client frame masked, no reserved bits or opcodes, control frames
// short and unfragmented, continuations only inside a fragmented message, text valid UTF-8, a
// message size limit); write_frame_header() writes the head of an unmasked server frame, and
// check_handshake() checks the opening handshake's key. Pure code, so the fuzzer
// (tests/fuzz/websocket_fuzz.cpp) can drive all of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace onda::http::detail {

enum class Opcode : std::uint8_t { continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };

// Close codes (RFC 6455 §7.4.1) the server sends.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t none_received = 1005;  // reported, never sent: a close frame without a code
}  // namespace close_code

// The most a frame head takes: 2 bytes, 8 of extended length, 4 of mask.
inline constexpr std::size_t max_frame_head_bytes = 14;
// What the head of a server frame takes at most (no mask).
inline constexpr std::size_t max_server_head_bytes = 10;

// RFC 6455 §4.2.1-4.2.2: checks the opening handshake's Sec-WebSocket-Version (13) and
// Sec-WebSocket-Key, and returns the Sec-WebSocket-Accept value for the 101. invalid_argument
// when either is wrong (for the version, the answer should be 426 with Sec-WebSocket-Version: 13).
Result<std::string> check_handshake(std::string_view version, std::string_view key);

// Writes the head of one unfragmented, unmasked frame of `payload_bytes` into `out`; returns its
// length (2, 4 or 10).
std::size_t write_frame_header(Opcode opcode, std::uint64_t payload_bytes, unsigned char* out);

// A close frame's payload: the code, big-endian, then the reason cut to fit (123 bytes at most, and
// never in the middle of a UTF-8 sequence).
std::string encode_close_payload(std::uint16_t code, std::string_view reason);

struct Incoming {
    enum class Kind {
        none,       // more bytes are needed
        message,    // a whole text or binary message in `data`
        ping,       // `data` is the payload, to be echoed in a pong
        pong,       // unsolicited or an answer: nothing to do
        close,      // the peer closes: `code` (close_code::none_received when it gave none), `data` the reason
        violation,  // the peer broke the protocol: close with `code`; `data` says what was wrong
    };
    Kind kind = Kind::none;
    std::string data;
    bool binary = false;
    std::uint16_t code = 0;
};

class MessageReader {
public:
    explicit MessageReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

    // Appends bytes as they came off the socket.
    void feed(std::string_view bytes);

    // The next event the bytes fed so far make, consuming them. After a violation every call
    // returns that violation again: nothing after it is read.
    Incoming next();

    // True when nothing is buffered and no message is in progress: what an idle WebSocket is.
    bool idle() const { return buffer_.size() == consumed_ && !in_message_; }
    // Heap bytes the reader holds beyond its own size: none once everything fed has been read (a
    // violation keeps its description).
    std::size_t held_bytes() const;

private:
    Incoming fail(std::uint16_t code, std::string why);

    std::size_t max_message_bytes_;
    std::string buffer_;        // bytes fed and not yet consumed, from consumed_ on
    std::size_t consumed_ = 0;  // how much of buffer_'s front is used up
    std::string message_;       // the fragments of the message in progress
    bool in_message_ = false;
    bool message_binary_ = false;
    bool failed_ = false;
    Incoming failure_;
};

}  // namespace onda::http::detail
