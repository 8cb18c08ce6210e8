// Fuzzes http::detail::MessageReader (src/http/detail/websocket_frame.hpp), the reader of what
// WebSocket clients send, and check_handshake() with the first 24 bytes as a key.
// Input: 1 byte that picks how the rest is split into feeds (the bytes of a socket arrive in any
// pieces), then the bytes a client sent.
// Properties:
//   - feeding the bytes whole or in pieces gives the very same events (nothing depends on where a
//     read happened to end);
//   - a message is at most max_message_bytes, a text message is valid UTF-8, a ping's payload at
//     most 125 bytes, a close code one a peer may send (or "none received");
//   - after a violation, every later call returns it again, whatever is fed;
//   - an idle() reader has no event to give, and holds no memory;
//   - a key check_handshake() accepts is 24 characters and answers with 28 (base64 of SHA-1).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "core/text.hpp"
#include "http/detail/websocket_frame.hpp"

namespace {

using onda::is_valid_utf8;
using onda::http::detail::Incoming;
using onda::http::detail::MessageReader;
using Kind = Incoming::Kind;

constexpr std::size_t max_message_bytes = 4096;

struct Event {
    Kind kind;
    std::string data;
    bool binary;
    std::uint16_t code;
    bool operator==(Event const&) const = default;
};

void check(Incoming const& in) {
    switch (in.kind) {
    case Kind::message:
        ONDA_FUZZ_CHECK(in.data.size() <= max_message_bytes, "a message is within the limit");
        if (!in.binary) ONDA_FUZZ_CHECK(is_valid_utf8(in.data), "a text message is valid UTF-8");
        break;
    case Kind::ping: ONDA_FUZZ_CHECK(in.data.size() <= 125, "a ping carries at most 125 bytes"); break;
    case Kind::close:
        ONDA_FUZZ_CHECK(in.code == 1005 || (in.code >= 1000 && in.code < 5000), "a close code is in range");
        ONDA_FUZZ_CHECK(is_valid_utf8(in.data), "a close reason is UTF-8");
        break;
    case Kind::violation:
        ONDA_FUZZ_CHECK(in.code == 1002 || in.code == 1007 || in.code == 1009, "a violation closes with 1002/7/9");
        break;
    case Kind::pong:
    case Kind::none: break;
    }
}

// Feeds `pieces` one by one and collects every event, checking each.
std::vector<Event> run(std::vector<std::string_view> const& pieces) {
    MessageReader reader(max_message_bytes);
    std::vector<Event> events;
    bool failed = false;
    for (auto piece : pieces) {
        reader.feed(piece);
        for (;;) {
            Incoming in = reader.next();
            check(in);
            if (in.kind == Kind::none) break;
            if (failed) {
                ONDA_FUZZ_CHECK(in.kind == Kind::violation, "after a violation, only the violation");
                break;
            }
            if (in.kind == Kind::violation) failed = true;
            events.push_back(Event{in.kind, in.data, in.binary, in.code});
            if (failed) break;
        }
    }
    if (!failed && reader.idle()) {
        ONDA_FUZZ_CHECK(reader.next().kind == Kind::none, "an idle reader has nothing");
        ONDA_FUZZ_CHECK(reader.held_bytes() == 0, "an idle reader holds no memory");
    }
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 1) return 0;
    unsigned const step = 1u + data[0] % 17u;  // the piece size, 1..17 bytes
    std::string_view const wire(reinterpret_cast<char const*>(data) + 1, size - 1);

    std::vector<Event> const whole = run({wire});
    std::vector<std::string_view> pieces;
    for (std::size_t at = 0; at < wire.size(); at += step) pieces.push_back(wire.substr(at, step));
    std::vector<Event> const split = run(pieces);
    ONDA_FUZZ_CHECK(whole == split, "the same bytes in other pieces make the same events");

    auto const key = wire.substr(0, 24);
    if (auto accept = onda::http::detail::check_handshake("13", key)) {
        ONDA_FUZZ_CHECK(key.size() == 24, "an accepted key is 24 characters");
        ONDA_FUZZ_CHECK(accept->size() == 28, "the accept value is the base64 of a SHA-1");
    }
    return 0;
}
