#include "realtime/event.hpp"

#include <charconv>

#include <fmt/format.h>

#include "http/sse.hpp"
#include "realtime/engineio_packet.hpp"
#include "realtime/socketio_packet.hpp"

namespace onda::realtime {

std::string const& Event::socketio_frame() const {
    std::call_once(socketio_once_, [this] {
        socketio_.reserve(name.size() + data.size() + 8);
        socketio_.push_back(static_cast<char>(EngineType::message));
        append_event(socketio_, name, data);
    });
    return socketio_;
}

std::string const& Event::sse_text() const {
    std::call_once(sse_once_, [this] { sse_ = http::format_sse_event({.name = name, .id = id, .data = data}); });
    return sse_;
}

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
