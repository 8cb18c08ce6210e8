// Fuzzes the Engine.IO v4 codec (src/realtime/engineio_packet.hpp). The input is a polling request
// body (packets joined by 0x1e, binary ones as 'b' + base64), and also one WebSocket text message.
// Properties: decoding never crashes; an accepted payload has at most the packet limit and no
// empty item; its packets, encoded again, decode to the same packets; a text packet's type is one of
// the seven.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "realtime/engineio_packet.hpp"

namespace {

using namespace onda::realtime;

constexpr std::size_t max_packets = 64;

void check_text_packet(std::string_view text) {
    auto packet = decode_engine_text(text);
    if (!packet) return;
    ONDA_FUZZ_CHECK(!text.empty(), "an accepted packet is not empty");
    ONDA_FUZZ_CHECK(packet->type >= EngineType::open && packet->type <= EngineType::noop, "a known type");
    ONDA_FUZZ_CHECK(!packet->binary, "text packets are not binary");
    ONDA_FUZZ_CHECK(encode_engine_text(packet->type, packet->data) == text, "a text packet encodes back to itself");
}

void check_payload(std::string_view body) {
    auto packets = decode_engine_payload(body, max_packets);
    if (!packets) return;
    ONDA_FUZZ_CHECK(!packets->empty() && packets->size() <= max_packets, "between one packet and the limit");
    std::string again;
    for (auto const& packet : *packets) {
        ONDA_FUZZ_CHECK(!packet.binary || packet.type == EngineType::message, "binary packets are messages");
        if (packet.binary)
            append_engine_payload(again, packet.data, true);
        else
            append_engine_payload(again, encode_engine_text(packet.type, packet.data), false);
    }
    auto back = decode_engine_payload(again, max_packets);
    ONDA_FUZZ_CHECK(back.has_value(), "a re-encoded payload decodes");
    ONDA_FUZZ_CHECK(*back == *packets, "a re-encoded payload decodes to the same packets");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const input(reinterpret_cast<char const*>(data), size);
    check_payload(input);
    check_text_packet(input);
    return 0;
}
