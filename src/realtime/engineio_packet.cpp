#include "realtime/engineio_packet.hpp"

#include <fmt/format.h>

#include "auth/base64.hpp"

namespace onda::realtime {

Result<EnginePacket> decode_engine_text(std::string_view text) {
    if (text.empty()) return Error(Errc::invalid_argument, "empty Engine.IO packet");
    char const type = text.front();
    if (type < '0' || type > '6')
        return Error(Errc::invalid_argument, fmt::format("unknown Engine.IO packet type 0x{:02x}",
                                                         static_cast<unsigned>(static_cast<unsigned char>(type))));
    return EnginePacket{.type = static_cast<EngineType>(type), .data = std::string(text.substr(1)), .binary = false};
}

EnginePacket engine_binary(std::string bytes) {
    return EnginePacket{.type = EngineType::message, .data = std::move(bytes), .binary = true};
}

Result<std::vector<EnginePacket>> decode_engine_payload(std::string_view body, std::size_t max_packets) {
    if (body.empty()) return Error(Errc::invalid_argument, "empty Engine.IO payload");
    std::vector<EnginePacket> packets;
    for (;;) {
        auto const end = body.find(record_separator);
        auto const item = body.substr(0, end);
        if (packets.size() == max_packets)
            return Error(Errc::invalid_argument, fmt::format("more than {} packets in one payload", max_packets));
        if (!item.empty() && item.front() == 'b') {
            auto bytes = auth::base64_decode(item.substr(1));
            if (!bytes) return Error(Errc::invalid_argument, "bad base64 in a binary Engine.IO packet");
            packets.push_back(engine_binary(std::move(*bytes)));
        } else {
            auto packet = decode_engine_text(item);
            if (!packet) return packet.error();
            packets.push_back(std::move(*packet));
        }
        if (end == std::string_view::npos) break;
        body.remove_prefix(end + 1);
    }
    return packets;
}

std::string encode_engine_text(EngineType type, std::string_view data) {
    std::string text;
    text.reserve(1 + data.size());
    text += static_cast<char>(type);
    text += data;
    return text;
}

void append_engine_payload(std::string& payload, std::string_view frame, bool binary) {
    if (!payload.empty()) payload += record_separator;
    if (!binary) {
        payload += frame;
        return;
    }
    payload += 'b';
    payload += auth::base64_encode(frame);
}

}  // namespace onda::realtime
