#include "realtime/room.hpp"

#include <array>
#include <utility>

namespace onda::realtime {
namespace {

constexpr std::array<std::pair<std::string_view, RoomKind>, 6> kinds{{
    {"user", RoomKind::user},
    {"upload", RoomKind::upload},
    {"media", RoomKind::media},
    {"chat", RoomKind::chat},
    {"stream", RoomKind::stream},
    {"tts", RoomKind::tts},
}};

bool is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '~' || c == '@' || c == '-';
}

}  // namespace

std::optional<RoomName> parse_room(std::string_view room) {
    auto const colon = room.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto const prefix = room.substr(0, colon);
    auto const id = room.substr(colon + 1);
    if (id.empty() || id.size() > max_room_id_chars) return std::nullopt;
    for (char c : id)
        if (!is_id_char(c)) return std::nullopt;
    for (auto const& [name, kind] : kinds)
        if (name == prefix) return RoomName{kind, id};
    return std::nullopt;
}

}  // namespace onda::realtime
