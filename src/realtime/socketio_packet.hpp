// Socket.IO protocol v5 packets (https://socket.io/docs/v4/socket-io-protocol/, "Packet encoding"), as
// the data of Engine.IO message packets:
//
//   <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
//   type         0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK
//   attachments  binary types only: how many binary Engine.IO messages follow this one
//   namespace    only when it is not "/": "/admin,"
//   ack id       decimal; an EVENT with one asks for an ACK with the same id
//   payload      CONNECT: absent or an object (the client's `auth`); DISCONNECT: absent;
//                EVENT: a non-empty array whose first item is the event name; ACK: an array;
//                CONNECT_ERROR: an object ({"message": …, "data": …}) or a string
//
// Binary data inside a payload is replaced by {"_placeholder":true,"num":N}, N indexing the
// attachments in the order they follow. Examples: `2["join",{"room":"chat:s1"}]`, `212["join",{}]`
// (ack id 12), `312[{"ok":true}]`, `51-["upload",{"_placeholder":true,"num":0}]` + 1 binary message.
//
// Pure functions on text: no sockets, no clocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.hpp"

namespace onda::realtime {

enum class SocketType : char {
    connect = '0',
    disconnect = '1',
    event = '2',
    ack = '3',
    connect_error = '4',
    binary_event = '5',
    binary_ack = '6',
};

struct SocketPacket {
    SocketType type = SocketType::event;
    std::string nsp = "/";
    std::optional<std::uint64_t> id;  // the ack id
    std::size_t attachments = 0;      // binary types: the binary messages that follow
    boost::json::value data;          // null when the packet has no payload
};

struct SocketLimits {
    std::size_t max_attachments = 10;  // per packet; more is refused (a cheap way to make a server allocate)
};

// The largest ack id accepted: JavaScript's largest exact integer, which is what clients count in.
inline constexpr std::uint64_t max_ack_id = (std::uint64_t{1} << 53) - 1;

// Decodes and validates one packet (see the payload rules above; placeholders must point at an
// attachment). invalid_argument, with the reason, for anything else.
Result<SocketPacket> decode_socket_packet(std::string_view text, SocketLimits const& limits = {});

// Appends the text form of `packet` to `out` (which may already hold the Engine.IO type, "4").
void append_socket_packet(std::string& out, SocketPacket const& packet);

// Appends an EVENT on "/" whose payload is [name, data] where `data_json` is already serialised JSON:
// the form every hub event takes, built without parsing the data again.
void append_event(std::string& out, std::string_view name, std::string_view data_json);

// Whether `value` is a binary placeholder, and which attachment it stands for.
std::optional<std::size_t> placeholder_index(boost::json::value const& value);
boost::json::object make_placeholder(std::size_t index);

// Socket.IO's reserved event names, which no client event may use.
bool is_reserved_event(std::string_view name);

}  // namespace onda::realtime
