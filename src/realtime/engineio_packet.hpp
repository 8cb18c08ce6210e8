// Engine.IO protocol v4 packets (https://socket.io/docs/v4/engine-io-protocol/, "Packet encoding").
//
// A packet is a type digit followed by its data:
//   0 open     server -> client, data: the handshake JSON
//   1 close    either side: the session is over
//   2 ping     server -> client every pingInterval (the client answers 3); "2probe" from a client
//              starts an upgrade and is answered "3probe" on the new transport
//   3 pong     client -> server, the answer to a ping
//   4 message  data: the payload (a Socket.IO packet)
//   5 upgrade  client -> server over the new transport: switch to it now
//   6 noop     server -> client: ends a held long-polling GET during an upgrade
// WebSocket: one packet per message; a text message is "<type><data>", a binary message is a message
// packet whose data is the whole frame (no type byte in v4).
// HTTP long-polling: a payload is packets joined by the record separator 0x1e; a binary message is
// written as 'b' followed by its data in standard base64 (RFC 4648 §4).
//
// Pure functions on bytes: no sockets, no clocks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace onda::realtime {

enum class EngineType : char {
    open = '0',
    close = '1',
    ping = '2',
    pong = '3',
    message = '4',
    upgrade = '5',
    noop = '6',
};

struct EnginePacket {
    EngineType type = EngineType::noop;
    std::string data;
    bool binary = false;  // a message whose data is bytes (only with EngineType::message)

    friend bool operator==(EnginePacket const&, EnginePacket const&) = default;
};

inline constexpr char record_separator = '\x1e';

// One text packet: a WebSocket text message, or one item of a polling payload without the 'b' form.
// invalid_argument for an empty text or an unknown type.
Result<EnginePacket> decode_engine_text(std::string_view text);

// A WebSocket binary message: always a message packet.
EnginePacket engine_binary(std::string bytes);

// A polling request body: the packets in order. invalid_argument for an empty body, an empty item,
// an unknown type, bad base64 after 'b', or more than `max_packets` packets.
Result<std::vector<EnginePacket>> decode_engine_payload(std::string_view body, std::size_t max_packets);

// "<type><data>": the text form of a packet (what a WebSocket text message or a payload item holds).
std::string encode_engine_text(EngineType type, std::string_view data = {});

// Appends one packet, already encoded as a frame, to a polling payload: text frames as they are, a
// binary frame as 'b' + base64. Adds the separator when `payload` is not empty.
void append_engine_payload(std::string& payload, std::string_view frame, bool binary);

}  // namespace onda::realtime
