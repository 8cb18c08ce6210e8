// Fuzzes the Socket.IO v5 codec (src/realtime/socketio_packet.hpp). The input is one packet as a
// client sends it (the data of an Engine.IO message). Properties of every accepted packet: the
// payload has its type's shape (events: a non-empty array named by a non-reserved string; acks: an
// array and an id; CONNECT: absent or an object; DISCONNECT: nothing), ack ids fit JavaScript's
// integers, the attachment count is within the limit and every placeholder names an attachment; and
// the packet, encoded again, decodes to the same packet (doubles to within rounding, see same_json).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "fuzz_check.hpp"
#include "realtime/socketio_packet.hpp"

namespace {

using namespace onda::realtime;

constexpr SocketLimits limits{.max_attachments = 10};

void check_placeholders(boost::json::value const& value, std::size_t attachments) {
    if (auto index = placeholder_index(value)) {
        ONDA_FUZZ_CHECK(*index < attachments, "a placeholder names an attachment");
        return;
    }
    if (auto const* object = value.if_object())
        for (auto const& item : *object) check_placeholders(item.value(), attachments);
    if (auto const* array = value.if_array())
        for (auto const& item : *array) check_placeholders(item, attachments);
}

// JSON equality, except that doubles may differ in their last bits: Boost.JSON 1.81 parses numbers
// without correct rounding (exact parsing came in 1.83), so a double does not always survive being
// written and read back bit for bit.
bool same_json(boost::json::value const& a, boost::json::value const& b) {
    if (a.is_double() || b.is_double()) {
        if (!a.is_number() || !b.is_number()) return false;
        double const x = a.to_number<double>();
        double const y = b.to_number<double>();
        return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
    }
    if (a.kind() != b.kind()) return false;
    if (auto const* array = a.if_array()) {
        auto const& other = b.get_array();
        if (array->size() != other.size()) return false;
        for (std::size_t i = 0; i < array->size(); ++i)
            if (!same_json((*array)[i], other[i])) return false;
        return true;
    }
    if (auto const* object = a.if_object()) {
        auto const& other = b.get_object();
        if (object->size() != other.size()) return false;
        for (auto const& item : *object) {
            auto const* match = other.if_contains(item.key());
            if (!match || !same_json(item.value(), *match)) return false;
        }
        return true;
    }
    return a == b;
}

void check_shape(SocketPacket const& packet) {
    ONDA_FUZZ_CHECK(!packet.nsp.empty() && packet.nsp.front() == '/', "a namespace starts with '/'");
    ONDA_FUZZ_CHECK(!packet.id || *packet.id <= max_ack_id, "ack ids are JavaScript integers");
    ONDA_FUZZ_CHECK(packet.attachments <= limits.max_attachments, "attachments within the limit");
    switch (packet.type) {
    case SocketType::connect: ONDA_FUZZ_CHECK(packet.data.is_null() || packet.data.is_object(), "CONNECT data"); break;
    case SocketType::disconnect: ONDA_FUZZ_CHECK(packet.data.is_null(), "DISCONNECT carries nothing"); break;
    case SocketType::event:
    case SocketType::binary_event: {
        auto const* args = packet.data.if_array();
        ONDA_FUZZ_CHECK(args && !args->empty() && args->front().is_string(), "an event is named");
        ONDA_FUZZ_CHECK(!is_reserved_event(args->front().get_string()), "no reserved names");
        break;
    }
    case SocketType::ack:
    case SocketType::binary_ack:
        ONDA_FUZZ_CHECK(packet.data.is_array() && packet.id, "an ack has args and an id");
        break;
    case SocketType::connect_error:
        ONDA_FUZZ_CHECK(packet.data.is_object() || packet.data.is_string(), "CONNECT_ERROR data");
        break;
    }
    if (packet.type == SocketType::binary_event || packet.type == SocketType::binary_ack)
        check_placeholders(packet.data, packet.attachments);
    else
        ONDA_FUZZ_CHECK(packet.attachments == 0, "only binary packets have attachments");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const input(reinterpret_cast<char const*>(data), size);
    auto packet = decode_socket_packet(input, limits);
    if (!packet) {
        ONDA_FUZZ_CHECK(packet.error().code() == onda::Errc::invalid_argument, "refusals are invalid_argument");
        return 0;
    }
    check_shape(*packet);
    std::string again;
    append_socket_packet(again, *packet);
    auto back = decode_socket_packet(again, limits);
    ONDA_FUZZ_CHECK(back.has_value(), "an encoded packet decodes");
    ONDA_FUZZ_CHECK(back->type == packet->type && back->nsp == packet->nsp && back->id == packet->id &&
                        back->attachments == packet->attachments && same_json(back->data, packet->data),
                    "an encoded packet decodes to itself");
    return 0;
}
