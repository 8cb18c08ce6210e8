// Playback sync as plain values (API.md "Realtime", the playback events): what a client's event
// asks for (parse_*), what it does to a user's state (apply), and what the other devices are told
// (sync_state_json). No I/O and no clock of its own: the caller passes `now`.
//
// Position is stored as "where playback was at updated_at". While playing, readers extrapolate it:
// position_at(state, now) = position + (now - updated_at), capped at the track's duration. A device
// that connects later thus sees where the music is now, not where it was when play was pressed, and
// a playing state needs no write every second to stay right.
//
// Example:
//   auto action = parse_action(PlaybackEvent::seek, event.arg(0));     // {position: 42}
//   if (!action) return ack.fail(action.error());
//   auto next = apply(state, *action, clock.now(), "laptop");          // the new state, version + 1
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "storage/meta_store.hpp"

namespace onda::realtime {

// A user's playback state: the stored row (storage::PlaybackRecord says what each field means).
using PlaybackState = storage::PlaybackRecord;

// The state a user has before their first action.
PlaybackState initial_playback_state(std::string user);

// What a control event does. `queue` is queue_set's; the others are the five of audio_control.
enum class PlaybackEvent { play, pause, seek, volume, quality, queue };

// sync_state's `action`: "play", "pause", "seek", "volume", "quality", "queue".
std::string_view action_name(PlaybackEvent event);
// audio_control's `action` (play|pause|seek|volume|quality); queue is not one of them.
std::optional<PlaybackEvent> parse_control_action(std::string_view name);

// The stream qualities (API.md stream_track): "128k", "192k", "320k"; 0 for anything else.
std::int64_t quality_bit_rate(std::string_view quality);
inline constexpr std::string_view default_quality = "192k";

inline constexpr std::size_t max_queue_tracks = 500;
inline constexpr std::size_t max_track_id_bytes = 64;

// A validated event. Only the fields of its kind are set.
struct PlaybackAction {
    PlaybackEvent event = PlaybackEvent::play;
    std::optional<std::string> track_id;  // play: the track to start; none: resume the current one
    std::optional<double> position;       // play, pause (optional), seek: seconds
    double volume = 1;                    // volume
    std::string quality;                  // quality, play (optional)
    std::vector<std::string> queue;       // queue
    std::size_t index = 0;                // queue
    boost::json::object payload;          // what the client sent, echoed in sync_state
    // Filled in by the caller once it has found the track (play with a track_id): its duration.
    double track_duration = 0;
};

// The payload of play_track {trackId?, quality?, position?}, pause_track {position?}, seek_position
// {position}, volume_change {volume}, quality_change {quality} or queue_set {trackIds, index}.
// invalid_argument naming the field for a missing or mistyped field, a position that is negative or
// not finite, a volume outside 0..1, an unknown quality, a queue too long or an index outside it.
Result<PlaybackAction> parse_action(PlaybackEvent event, boost::json::value const& payload);
// audio_control {action, payload}: the same as the event the action names.
Result<PlaybackAction> parse_audio_control(boost::json::value const& payload);

// Seconds into the track at `now` (see above).
double position_at(PlaybackState const& state, SystemTime now);

// The state after `action` by `device` at `now`: version + 1, updated_at = now, and the position
// rebased to now first, so a change of volume while playing loses no progress. invalid_argument
// for play without a track when none was ever played. A seek past the end lands at the end.
Result<PlaybackState> apply(PlaybackState const& state, PlaybackAction const& action, SystemTime now,
                            std::string_view device);

// The API's state object {trackId, playing, position, volume, quality, updatedAt, duration, queue:
// {trackIds, index}}; position is position_at(now), updatedAt Unix milliseconds; trackId null
// before the first play.
boost::json::object state_json(PlaybackState const& state, SystemTime now);

// sync_state {action, payload, timestamp, deviceId, state}; timestamp is Unix milliseconds.
boost::json::object sync_state_json(std::string_view action, boost::json::object payload, SystemTime now,
                                    std::string_view device, PlaybackState const& state);

// position_update {position, duration}: seconds, both finite and not negative.
struct PositionReport {
    double position = 0;
    double duration = 0;
};
Result<PositionReport> parse_position_update(boost::json::value const& payload);

inline constexpr double preload_lead_seconds = 10;
// The track to preload after `report`: the queue's next entry when at most preload_lead_seconds
// remain of the current one; nullopt otherwise (no next entry, or time enough).
std::optional<std::string> track_to_preload(PlaybackState const& state, PositionReport const& report);

}  // namespace onda::realtime
