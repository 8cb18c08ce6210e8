#include "realtime/room_access.hpp"

#include "realtime/room.hpp"

namespace onda::realtime {

Task<Result<void>> check_room_access(auth::Identity const& who, std::string room, RoomAccess const& access) {
    auto const name = parse_room(room);
    ONDA_ASSERT(name, "rooms are validated before access is checked");
    switch (name->kind) {
    case RoomKind::chat:
    case RoomKind::stream: co_return ok();
    case RoomKind::user:
        if (who.is_anonymous()) co_return Error(Errc::unauthenticated, "a token is required for " + room);
        if (who.user != name->id && !who.is_admin()) co_return Error(Errc::forbidden, "only its user may read " + room);
        co_return ok();
    case RoomKind::upload:
    case RoomKind::media:
    case RoomKind::tts: break;
    }
    if (!access) co_return Error(Errc::forbidden, "no one may read " + room);
    Task<Result<void>> decision = access(who, room);  // named: nothing is built inside a co_await
    co_return co_await std::move(decision);
}

}  // namespace onda::realtime
