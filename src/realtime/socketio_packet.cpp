#include "realtime/socketio_packet.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace onda::realtime {
namespace {

bool is_binary(SocketType type) { return type == SocketType::binary_event || type == SocketType::binary_ack; }

Error malformed(std::string message) { return Error(Errc::invalid_argument, "Socket.IO packet: " + message); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Every placeholder in `value` points at one of `attachments`; false (and why) otherwise. Depth is
// bounded by the JSON parser (32 levels), so recursion is too.
bool placeholders_fit(boost::json::value const& value, std::size_t attachments, std::string& why) {
    if (auto const* object = value.if_object()) {
        if (auto const* flag = object->if_contains("_placeholder"); flag && flag->is_bool() && flag->get_bool()) {
            auto const index = placeholder_index(value);
            if (!index || *index >= attachments) {
                why = "a placeholder names no attachment";
                return false;
            }
            return true;
        }
        for (auto const& item : *object)
            if (!placeholders_fit(item.value(), attachments, why)) return false;
        return true;
    }
    if (auto const* array = value.if_array()) {
        for (auto const& item : *array)
            if (!placeholders_fit(item, attachments, why)) return false;
    }
    return true;
}

// JSON has no infinities, but a number too large for a double (1e400) parses as one, and would not
// survive being sent on: such packets are refused. Depth is bounded by the parser.
bool numbers_finite(boost::json::value const& value) {
    if (auto const* number = value.if_double()) return std::isfinite(*number);
    if (auto const* object = value.if_object())
        return std::all_of(object->begin(), object->end(),
                           [](auto const& item) { return numbers_finite(item.value()); });
    if (auto const* array = value.if_array())
        return std::all_of(array->begin(), array->end(), [](auto const& item) { return numbers_finite(item); });
    return true;
}

// The payload rules of each type (see the header).
Result<void> check_payload(SocketPacket const& packet) {
    auto const& data = packet.data;
    if (!numbers_finite(data)) return malformed("a number out of range");
    switch (packet.type) {
    case SocketType::connect:
        if (!data.is_null() && !data.is_object()) return malformed("CONNECT data must be an object");
        break;
    case SocketType::disconnect:
        if (!data.is_null()) return malformed("DISCONNECT carries no data");
        break;
    case SocketType::event:
    case SocketType::binary_event: {
        auto const* args = data.if_array();
        if (!args || args->empty()) return malformed("EVENT data must be a non-empty array");
        auto const* name = args->front().if_string();
        if (!name) return malformed("an event name must be a string");
        if (is_reserved_event(*name)) return malformed(fmt::format("'{}' is a reserved event name", name->c_str()));
        break;
    }
    case SocketType::ack:
    case SocketType::binary_ack:
        if (!data.is_array()) return malformed("ACK data must be an array");
        if (!packet.id) return malformed("an ACK needs an id");
        break;
    case SocketType::connect_error:
        if (!data.is_object() && !data.is_string())
            return malformed("CONNECT_ERROR data must be an object or a string");
        break;
    }
    if (is_binary(packet.type)) {
        std::string why;
        if (!placeholders_fit(data, packet.attachments, why)) return malformed(why);
    }
    return ok();
}

}  // namespace

Result<SocketPacket> decode_socket_packet(std::string_view text, SocketLimits const& limits) {
    if (text.empty()) return malformed("empty");
    SocketPacket packet;
    char const type = text.front();
    if (type < '0' || type > '6') return malformed("unknown type");
    packet.type = static_cast<SocketType>(type);
    text.remove_prefix(1);

    if (is_binary(packet.type)) {
        std::size_t digits = 0;
        while (digits < text.size() && is_digit(text[digits])) ++digits;
        if (digits == 0 || digits >= text.size() || text[digits] != '-')
            return malformed("a binary packet starts with its attachment count and '-'");
        auto [end, ec] = std::from_chars(text.data(), text.data() + digits, packet.attachments);
        if (ec != std::errc{} || packet.attachments > limits.max_attachments)
            return malformed(fmt::format("at most {} attachments", limits.max_attachments));
        text.remove_prefix(digits + 1);
    }

    if (!text.empty() && text.front() == '/') {
        auto const comma = text.find(',');
        packet.nsp = std::string(text.substr(0, comma));
        text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    }

    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    if (digits > 0) {
        std::uint64_t id = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + digits, id);
        if (ec != std::errc{} || id > max_ack_id) return malformed("ack id out of range");
        packet.id = id;
        text.remove_prefix(digits);
    }

    if (!text.empty()) {
        boost::system::error_code ec;
        packet.data = boost::json::parse(text, ec);
        if (ec) return malformed("payload is not JSON: " + ec.message());
    }
    if (auto checked = check_payload(packet); !checked) return checked.error();
    return packet;
}

void append_socket_packet(std::string& out, SocketPacket const& packet) {
    out += static_cast<char>(packet.type);
    if (is_binary(packet.type)) fmt::format_to(std::back_inserter(out), "{}-", packet.attachments);
    if (packet.nsp != "/") {
        out += packet.nsp;
        out += ',';
    }
    if (packet.id) fmt::format_to(std::back_inserter(out), "{}", *packet.id);
    if (!packet.data.is_null()) out += boost::json::serialize(packet.data);
}

void append_event(std::string& out, std::string_view name, std::string_view data_json) {
    out += static_cast<char>(SocketType::event);
    out += '[';
    out += boost::json::serialize(boost::json::string_view(name.data(), name.size()));
    out += ',';
    out += data_json;
    out += ']';
}

std::optional<std::size_t> placeholder_index(boost::json::value const& value) {
    auto const* object = value.if_object();
    if (!object) return std::nullopt;
    auto const* flag = object->if_contains("_placeholder");
    auto const* num = object->if_contains("num");
    if (!flag || !flag->is_bool() || !flag->get_bool() || !num) return std::nullopt;
    if (auto const* n = num->if_int64(); n && *n >= 0) return static_cast<std::size_t>(*n);
    if (auto const* n = num->if_uint64()) return static_cast<std::size_t>(*n);
    return std::nullopt;
}

boost::json::object make_placeholder(std::size_t index) {
    return boost::json::object{{"_placeholder", true}, {"num", index}};
}

bool is_reserved_event(std::string_view name) {
    static constexpr std::array<std::string_view, 6> reserved{"connect",       "connect_error", "disconnect",
                                                              "disconnecting", "newListener",   "removeListener"};
    return std::find(reserved.begin(), reserved.end(), name) != reserved.end();
}

}  // namespace onda::realtime
