// One published event as every door sees it: made once by the hub, then shared, immutable, by every
// room history, thread and subscriber that holds it.
//
// Encodings are made lazily, once per door format, by the first thread that asks, and shared from
// then on: a publish to a room of 10,000 Socket.IO clients serialises one `42["name",{…}]` frame, and
// an SSE-only room never builds it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace onda::realtime {

struct Event {
    std::uint64_t seq = 0;     // the hub-wide sequence number (see Hub): orders events across rooms
    std::uint64_t offset = 0;  // the room's own sequence number, from 1: monotonic within the room
    std::string id;            // "<epoch>-<seq>": the SSE `id:`, a client's Last-Event-ID
    std::string room;
    std::string name;  // e.g. "upload_progress"
    std::string data;  // the JSON payload, serialised
    // Set by Hub::publish_except: a Socket.IO socket id this event does not reach (the socket whose
    // event caused it, as socket.io's `socket.to(room).emit`); "" for none. Such an event is for the
    // room's Socket.IO sockets only: the room's history does not keep it and no subscriber queue (an
    // SSE stream) takes it.
    std::string except;
    SystemTime published_at{};

    // The Engine.IO text packet a Socket.IO client receives: 4 + 2["<name>",<data>]. Any thread.
    std::string const& socketio_frame() const;
    // The SSE lines `event:`, `id:`, `data:` and the blank line that ends them. Any thread.
    std::string const& sse_text() const;

private:
    mutable std::once_flag socketio_once_;
    mutable std::string socketio_;
    mutable std::once_flag sse_once_;
    mutable std::string sse_;
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
