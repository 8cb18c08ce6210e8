// Room names as clients send them (API.md "Realtime"): `<kind>:<id>`, e.g. "user:alice",
// "chat:s1", "media:m_2xK9…". The kind is one of the known prefixes; the id is 1 to 128 characters
// of [A-Za-z0-9._~@-] (no ',' which separates rooms in `?rooms=`, no ':' or spaces).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace onda::realtime {

enum class RoomKind { user, upload, media, chat, stream, tts };

struct RoomName {
    RoomKind kind;
    std::string_view id;  // points into the parsed text
};

inline constexpr std::size_t max_room_id_chars = 128;

// nullopt for an unknown kind, an empty or too long id, or a character outside the set above.
std::optional<RoomName> parse_room(std::string_view room);

}  // namespace onda::realtime
