#include "storage/detail/media_cursor.hpp"

#include <charconv>
#include <cstdint>

namespace onda::storage::detail {

std::string format_media_cursor(MediaCursor const& cursor) {
    return std::to_string(cursor.created_at.time_since_epoch().count()) + ":" + cursor.id;
}

std::optional<MediaCursor> parse_media_cursor(std::string_view text) {
    std::size_t const colon = text.find(':');
    if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
    std::string_view const micros_text = text.substr(0, colon);
    std::int64_t micros = 0;
    auto const [end, ec] = std::from_chars(micros_text.data(), micros_text.data() + micros_text.size(), micros);
    if (ec != std::errc{} || end != micros_text.data() + micros_text.size()) return std::nullopt;
    // One spelling per number, so a cursor is only ever what the server wrote ("007" and "-0" are not).
    if (std::to_string(micros) != micros_text) return std::nullopt;
    using std::chrono::microseconds;
    return MediaCursor{.created_at = std::chrono::sys_time<microseconds>(microseconds(micros)),
                       .id = std::string(text.substr(colon + 1))};
}

}  // namespace onda::storage::detail
