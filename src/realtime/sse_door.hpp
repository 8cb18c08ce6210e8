// The Server-Sent Events door (API.md "Server-Sent Events"): a subscription to hub rooms, written
// as a chunked text/event-stream response for as long as the client stays.
//
// A stream starts with `retry:` and then, by how the subscription began (Subscriber::Start):
//   fresh    `id: <position>` alone, so a client that reconnects before any event misses nothing;
//   resumed  the kept events after the client's Last-Event-ID (nothing else needed);
//   reset    `event: reset` with `id: <position>` and data `{}`: the client's id is unknown or too
//            old; it should reload whatever state it shows, then follow the stream.
// Then each event as `event: NAME` / `id: <epoch>-<seq>` / `data: JSON`, with a `: keepalive` comment
// after each `keepalive` without events. The stream ends (a clean end of the chunked body) when the
// hub closes at shutdown or the client fell `max_backlog` events behind; browsers then reconnect
// with Last-Event-ID.
//
// Routes: GET /v1/events?rooms=a,b (room names: realtime/room.hpp) with the rules of
// realtime/room_access.hpp (401 without a token where one is needed, 403 for someone else's room);
// 400 invalid_argument for no rooms, a malformed room, or more than `max_rooms`.
// stream_rooms() is for routes that checked access themselves (e.g. an upload's own events).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/identity.hpp"
#include "core/error.hpp"
#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "realtime/hub.hpp"
#include "realtime/room_access.hpp"

namespace onda::realtime {

struct SseOptions {
    std::chrono::milliseconds keepalive{15'000};  // longest silence before a `: keepalive` comment
    std::chrono::milliseconds retry{3'000};       // the client's reconnection delay (`retry:`)
    std::size_t max_rooms = 32;                   // per GET /v1/events
};

class SseDoor {
public:
    // `hub` must outlive the door and every stream it made. `access` decides upload:, media: and
    // tts: rooms; without one they are forbidden.
    SseDoor(Hub& hub, SseOptions options, RoomAccess access);

    // GET /v1/events.
    void add_routes(http::Router& router);
    Task<http::Response> events(http::Request& request);

    // An event stream of `rooms` for a caller already allowed to read them. Resumes after the
    // `Last-Event-ID` header, else the `lastEventId` query parameter (for clients that cannot set
    // headers). 503 unavailable once the hub is closed.
    Task<http::Response> stream_rooms(http::Request& request, std::vector<std::string> rooms);

private:
    Hub& hub_;
    SseOptions options_;
    RoomAccess access_;
};

}  // namespace onda::realtime
