// One published event as every door sees it: serialised once by the hub, then shared, immutable,
// by every room history and subscriber queue that holds it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace onda::realtime {

struct Event {
    std::uint64_t seq = 0;  // the hub-wide sequence number (see Hub)
    std::string id;         // "<epoch>-<seq>": the SSE `id:`, a client's Last-Event-ID
    std::string room;
    std::string name;  // e.g. "upload_progress"
    std::string data;  // the JSON payload, serialised
    // The Engine.IO text packet a Socket.IO client receives: 42["<name>",<data>]. Built once here,
    // shared by every socket in the room.
    std::string socketio;
};

using EventPtr = std::shared_ptr<Event const>;

// A position in one hub's sequence: the id of the last event a client has seen.
struct EventPosition {
    std::string_view epoch;
    std::uint64_t seq = 0;
};

// "<epoch>-<seq>" where epoch is 1 to 32 of [0-9a-z] and seq a decimal number without sign or
// leading zeros; nullopt otherwise. The view points into `id`.
std::optional<EventPosition> parse_event_id(std::string_view id);
std::string format_event_id(std::string_view epoch, std::uint64_t seq);

}  // namespace onda::realtime
