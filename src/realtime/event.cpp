#include "realtime/event.hpp"

#include <charconv>

#include <fmt/format.h>

namespace onda::realtime {

std::optional<EventPosition> parse_event_id(std::string_view id) {
    auto const dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > 32) return std::nullopt;
    auto const epoch = id.substr(0, dash);
    for (char c : epoch)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return std::nullopt;
    auto const digits = id.substr(dash + 1);
    if (digits.empty() || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
    std::uint64_t seq = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    return EventPosition{epoch, seq};
}

std::string format_event_id(std::string_view epoch, std::uint64_t seq) { return fmt::format("{}-{}", epoch, seq); }

}  // namespace onda::realtime
