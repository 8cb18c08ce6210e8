// Who may read a room, the same for every door (SSE, Socket.IO):
//   user:{sub}          that user, or an admin (unauthenticated without a token, forbidden otherwise)
//   chat:*, stream:*    anyone, anonymous callers too (API.md: anyone may read chat and live streams)
//   upload:*, media:*, tts:*   as the RoomAccess callback decides: their ids belong to other modules,
//                       which `app` asks; without a callback they are forbidden
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "auth/identity.hpp"
#include "core/error.hpp"
#include "core/task.hpp"

namespace onda::realtime {

// Whether `who` may read `room` (ok, or unauthenticated / forbidden / not_found). Runs on the
// caller's thread; `who` and `room` live until the returned task completes.
using RoomAccess = std::function<Task<Result<void>>(auth::Identity const& who, std::string_view room)>;

// The rules above for a room that parse_room() accepts. `access` must outlive the task.
Task<Result<void>> check_room_access(auth::Identity const& who, std::string room, RoomAccess const& access);

}  // namespace onda::realtime
