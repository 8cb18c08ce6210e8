#include "realtime/playback/playback_state.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace onda::realtime {
namespace {

namespace json = boost::json;

// 48 hours: the longest media the converters take; a position past it is a mistake, not music.
constexpr double max_position_seconds = 48 * 3600;

Error bad(std::string message) { return Error(Errc::invalid_argument, std::move(message)); }

// The payload as an object; a missing or null payload is an empty one where `optional_payload`.
Result<json::object const*> object_of(json::value const& payload, std::string_view event, bool optional_payload) {
    static json::object const empty;
    if (payload.is_null() && optional_payload) return &empty;
    if (auto const* object = payload.if_object()) return object;
    return bad(fmt::format("{}: the payload must be an object", event));
}

Result<std::optional<double>> seconds_field(json::object const& object, std::string_view name) {
    auto const* value = object.if_contains(name);
    if (!value || value->is_null()) return std::optional<double>();
    if (!value->is_number()) return bad(fmt::format("{} must be a number of seconds", name));
    double const seconds = value->to_number<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > max_position_seconds)
        return bad(fmt::format("{} must be from 0 to {} seconds", name, max_position_seconds));
    return std::optional<double>(seconds);
}

bool is_printable(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) > 0x20; });
}

Result<std::string> track_id_of(json::value const& value, std::string_view name) {
    auto const* text = value.if_string();
    if (!text || text->empty() || text->size() > max_track_id_bytes || !is_printable(*text))
        return bad(fmt::format("{} must be a media id (1 to {} printable characters)", name, max_track_id_bytes));
    return std::string(*text);
}

Result<std::string> quality_of(json::value const& value) {
    auto const* text = value.if_string();
    if (!text || quality_bit_rate(*text) == 0) return bad("quality must be \"128k\", \"192k\" or \"320k\"");
    return std::string(*text);
}

Result<PlaybackAction> parse_play(json::object const& object) {
    PlaybackAction action{.event = PlaybackEvent::play};
    if (auto const* track = object.if_contains("trackId"); track && !track->is_null()) {
        auto id = track_id_of(*track, "trackId");
        if (!id) return id.error();
        action.track_id = *id;
        action.payload["trackId"] = *id;
    }
    if (auto const* quality = object.if_contains("quality"); quality && !quality->is_null()) {
        auto parsed = quality_of(*quality);
        if (!parsed) return parsed.error();
        action.quality = *parsed;
        action.payload["quality"] = *parsed;
    }
    auto position = seconds_field(object, "position");
    if (!position) return position.error();
    action.position = *position;
    if (*position) action.payload["position"] = **position;
    return action;
}

Result<PlaybackAction> parse_queue(json::object const& object) {
    PlaybackAction action{.event = PlaybackEvent::queue};
    auto const* ids = object.if_contains("trackIds");
    if (!ids || !ids->is_array()) return bad("trackIds must be an array of media ids");
    if (ids->get_array().size() > max_queue_tracks)
        return bad(fmt::format("a queue holds at most {} tracks", max_queue_tracks));
    json::array echoed;
    for (auto const& id : ids->get_array()) {
        auto parsed = track_id_of(id, "every entry of trackIds");
        if (!parsed) return parsed.error();
        echoed.emplace_back(*parsed);
        action.queue.push_back(std::move(*parsed));
    }
    if (auto const* index = object.if_contains("index"); index && !index->is_null()) {
        // A whole number inside the queue (0 for an empty one); 3.0 is a whole number too.
        double const n = index->is_number() ? index->to_number<double>() : -1;
        bool const whole = index->is_number() && std::isfinite(n) && n >= 0 && std::floor(n) == n;
        std::size_t const limit = std::max<std::size_t>(action.queue.size(), 1);
        if (!whole || n >= static_cast<double>(limit))
            return bad(fmt::format("index must be a whole number from 0 to {}", limit - 1));
        action.index = static_cast<std::size_t>(n);
    }
    action.payload["trackIds"] = std::move(echoed);
    action.payload["index"] = action.index;
    return action;
}

double clamp_to_track(PlaybackState const& state, double seconds) {
    seconds = std::max(0.0, seconds);
    return state.duration > 0 ? std::min(seconds, state.duration) : seconds;
}

std::int64_t unix_millis(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Where `track` sits in the queue: the current entry when it is that track, else its first place.
std::optional<std::size_t> queue_place(PlaybackState const& state, std::string const& track) {
    if (state.queue_index < state.queue.size() && state.queue[state.queue_index] == track) return state.queue_index;
    auto it = std::find(state.queue.begin(), state.queue.end(), track);
    if (it == state.queue.end()) return std::nullopt;
    return static_cast<std::size_t>(it - state.queue.begin());
}

}  // namespace

PlaybackState initial_playback_state(std::string user) {
    return PlaybackState{.user = std::move(user), .quality = std::string(default_quality)};
}

std::string_view action_name(PlaybackEvent event) {
    switch (event) {
    case PlaybackEvent::play: return "play";
    case PlaybackEvent::pause: return "pause";
    case PlaybackEvent::seek: return "seek";
    case PlaybackEvent::volume: return "volume";
    case PlaybackEvent::quality: return "quality";
    case PlaybackEvent::queue: return "queue";
    }
    return "play";
}

std::optional<PlaybackEvent> parse_control_action(std::string_view name) {
    for (auto event : {PlaybackEvent::play, PlaybackEvent::pause, PlaybackEvent::seek, PlaybackEvent::volume,
                       PlaybackEvent::quality})
        if (name == action_name(event)) return event;
    return std::nullopt;
}

std::int64_t quality_bit_rate(std::string_view quality) {
    if (quality == "128k") return 128'000;
    if (quality == "192k") return 192'000;
    if (quality == "320k") return 320'000;
    return 0;
}

Result<PlaybackAction> parse_action(PlaybackEvent event, json::value const& payload) {
    bool const optional_payload = event == PlaybackEvent::play || event == PlaybackEvent::pause;
    auto object = object_of(payload, action_name(event), optional_payload);
    if (!object) return object.error();
    json::object const& fields = **object;
    switch (event) {
    case PlaybackEvent::play: return parse_play(fields);
    case PlaybackEvent::pause:
    case PlaybackEvent::seek: {
        PlaybackAction action{.event = event};
        auto position = seconds_field(fields, "position");
        if (!position) return position.error();
        if (event == PlaybackEvent::seek && !*position) return bad("seek needs a position in seconds");
        action.position = *position;
        if (*position) action.payload["position"] = **position;
        return action;
    }
    case PlaybackEvent::volume: {
        auto const* value = fields.if_contains("volume");
        double const volume = value && value->is_number() ? value->to_number<double>() : -1;
        if (!std::isfinite(volume) || volume < 0 || volume > 1) return bad("volume must be a number from 0 to 1");
        PlaybackAction action{.event = event, .volume = volume};
        action.payload["volume"] = volume;
        return action;
    }
    case PlaybackEvent::quality: {
        auto const* value = fields.if_contains("quality");
        if (!value) return bad("quality must be \"128k\", \"192k\" or \"320k\"");
        auto quality = quality_of(*value);
        if (!quality) return quality.error();
        PlaybackAction action{.event = event, .quality = *quality};
        action.payload["quality"] = *quality;
        return action;
    }
    case PlaybackEvent::queue: return parse_queue(fields);
    }
    return bad("unknown playback event");
}

Result<PlaybackAction> parse_audio_control(json::value const& payload) {
    auto const* object = payload.if_object();
    auto const* name = object ? object->if_contains("action") : nullptr;
    auto event = name && name->is_string() ? parse_control_action(name->get_string()) : std::nullopt;
    if (!event) return bad("audio_control needs action: play, pause, seek, volume or quality");
    static json::value const none;
    auto const* inner = object->if_contains("payload");
    return parse_action(*event, inner ? *inner : none);
}

double position_at(PlaybackState const& state, SystemTime now) {
    if (!state.playing) return clamp_to_track(state, state.position);
    // A clock that stepped back never moves playback backwards.
    double const elapsed = std::max(0.0, std::chrono::duration<double>(now - state.updated_at).count());
    return clamp_to_track(state, state.position + elapsed);
}

Result<PlaybackState> apply(PlaybackState const& state, PlaybackAction const& action, SystemTime now,
                            std::string_view device) {
    PlaybackState next = state;
    next.position = position_at(state, now);
    next.updated_at = now;
    next.version = state.version + 1;
    next.device = std::string(device);
    switch (action.event) {
    case PlaybackEvent::play:
        if (action.track_id && *action.track_id != state.track_id) {
            next.track_id = *action.track_id;
            next.duration = action.track_duration;
            next.position = 0;
        } else if (next.track_id.empty()) {
            return bad("nothing to play yet: play_track needs a trackId");
        } else if (action.track_id && action.track_duration > 0) {
            next.duration = action.track_duration;  // the same track: resumed, its length refreshed
        }
        if (auto place = queue_place(next, next.track_id)) next.queue_index = *place;
        if (!action.quality.empty()) next.quality = action.quality;
        if (action.position) next.position = clamp_to_track(next, *action.position);
        next.playing = true;
        break;
    case PlaybackEvent::pause:
        if (action.position) next.position = clamp_to_track(next, *action.position);
        next.playing = false;
        break;
    case PlaybackEvent::seek:
        if (action.position) next.position = clamp_to_track(next, *action.position);
        break;
    case PlaybackEvent::volume: next.volume = action.volume; break;
    case PlaybackEvent::quality: next.quality = action.quality; break;
    case PlaybackEvent::queue:
        next.queue = action.queue;
        next.queue_index = action.index;
        break;
    }
    return next;
}

boost::json::object state_json(PlaybackState const& state, SystemTime now) {
    json::array ids;
    ids.reserve(state.queue.size());
    for (auto const& id : state.queue) ids.emplace_back(id);
    // Milliseconds are all a player can use; fewer digits on the wire.
    double const position = std::round(position_at(state, now) * 1000) / 1000;
    return json::object{
        {"trackId", state.track_id.empty() ? json::value(nullptr) : json::value(state.track_id)},
        {"playing", state.playing},
        {"position", position},
        {"volume", state.volume},
        {"quality", state.quality},
        {"updatedAt", state.version == 0 ? json::value(nullptr) : json::value(unix_millis(state.updated_at))},
        {"duration", state.duration},
        {"queue", json::object{{"trackIds", std::move(ids)}, {"index", state.queue_index}}},
    };
}

boost::json::object sync_state_json(std::string_view action, boost::json::object payload, SystemTime now,
                                    std::string_view device, PlaybackState const& state) {
    return json::object{{"action", action},
                        {"payload", std::move(payload)},
                        {"timestamp", unix_millis(now)},
                        {"deviceId", device.empty() ? json::value(nullptr) : json::value(device)},
                        {"state", state_json(state, now)}};
}

Result<PositionReport> parse_position_update(json::value const& payload) {
    auto const* object = payload.if_object();
    if (!object) return bad("position_update: the payload must be an object {position, duration}");
    auto position = seconds_field(*object, "position");
    if (!position) return position.error();
    auto duration = seconds_field(*object, "duration");
    if (!duration) return duration.error();
    if (!*position || !*duration) return bad("position_update needs position and duration in seconds");
    return PositionReport{.position = **position, .duration = **duration};
}

std::optional<std::string> track_to_preload(PlaybackState const& state, PositionReport const& report) {
    if (state.queue_index + 1 >= state.queue.size()) return std::nullopt;
    if (report.duration <= 0 || report.duration - report.position > preload_lead_seconds) return std::nullopt;
    return state.queue[state.queue_index + 1];
}

}  // namespace onda::realtime
