// The position list_media() continues from: the (created_at, id) of the last item of the previous page.
// On the wire it is "<created_at in Unix microseconds>:<id>", e.g. "1795780800000000:m_2xK9". Clients treat
// it as opaque; the server parses it strictly: a canonical decimal integer (no '+', no leading zeros,
// "-" only for times before 1970), one ':', then a non-empty id.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace onda::storage::detail {

struct MediaCursor {
    // Microseconds, as stored: the full int64 range of a cursor fits, unlike SystemTime's nanoseconds.
    std::chrono::sys_time<std::chrono::microseconds> created_at;
    std::string id;
};

std::string format_media_cursor(MediaCursor const& cursor);
// nullopt for anything format_media_cursor() cannot have produced.
std::optional<MediaCursor> parse_media_cursor(std::string_view text);

}  // namespace onda::storage::detail
