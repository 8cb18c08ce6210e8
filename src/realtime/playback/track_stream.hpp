// stream_track (API.md "Realtime"): a track sent to one Socket.IO client as binary `audio_chunk`
// events of MP3, paced at playback speed, then `audio_end`.
//
//   audio_chunk {trackId, seq, timestamp, duration, quality, data}
//       seq        0, 1, 2, … in order
//       timestamp  media time of the chunk's first sample, in milliseconds from the track's start
//       duration   milliseconds of audio in the chunk
//       data       binary attachment: whole MP3 frames, frames_per_chunk of them (the last chunk
//                  may hold fewer); chunk 0 starts with the Info frame. Concatenated in seq order
//                  the chunks are one playable MP3 file.
//   audio_end   {trackId, chunks}
//
// Pacing: chunks go out as fast as they are made until `lead` (3 s) of audio is ahead of the wall
// clock since the start, then each when its timestamp is `lead` away: a player starts at once and
// keeps a 3 s buffer, and the server never holds more than that of one listener in flight.
// Quality: switch_quality() takes effect at the next chunk. The conversion is restarted at that
// chunk's first frame at the new bit rate; frames of every offered quality have the same duration
// (all are 48 kHz), so the timeline goes on without a gap or an overlap.
//
// Threads: a TrackStream lives on its client's thread; run(), switch_quality() and stop() are called
// there.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "auth/identity.hpp"
#include "core/metrics.hpp"
#include "core/task.hpp"
#include "realtime/playback/track_catalog.hpp"
#include "realtime/socketio_client.hpp"

namespace onda::realtime {

inline constexpr int frames_per_chunk = 40;  // 0.96 s at 48 kHz
inline constexpr std::chrono::milliseconds stream_lead{3'000};

// Which file frames chunk `seq` holds, and when its audio starts.
struct ChunkSpan {
    std::int64_t first_frame = 0;  // file frames: 0 is the Info frame, audio frames are 1 … audio_frames
    std::int64_t frames = 0;
    std::chrono::microseconds media_time{0};  // of its first audio sample
    std::chrono::microseconds duration{0};    // of its audio
};

// Chunks of a feed with `audio_frames` audio frames: ceil(audio_frames / frames_per_chunk).
std::int64_t chunk_count(std::int64_t audio_frames);
// Chunk 0 is the Info frame and audio frames 1 … 40; chunk k ≥ 1 is frames 40k + 1 … 40(k + 1).
ChunkSpan chunk_span(Mp3Feed const& feed, std::int64_t seq);
// When chunk `media_time` may be sent: `lead` before it is due at playback speed, never before start.
std::chrono::steady_clock::time_point chunk_due(std::chrono::steady_clock::time_point start,
                                                std::chrono::microseconds media_time,
                                                std::chrono::milliseconds lead = stream_lead);

class TrackStream {
public:
    struct Metrics {
        Counter* chunks = nullptr;    // audio_chunk events sent
        Gauge* active = nullptr;      // streams running now
        Counter* restarts = nullptr;  // conversions restarted for a quality switch
    };

    // `catalog` and the metrics must outlive the stream. `feed` is the conversion from frame 0.
    TrackStream(net::any_io_executor executor, TrackCatalog& catalog, auth::Identity who, std::string track_id,
                std::string quality, Mp3Feed feed, Metrics metrics);

    // Sends the chunks to `client`, then audio_end. Returns when done, stopped, or the client left.
    // `self` keeps the stream alive while it runs.
    static Task<> run(std::shared_ptr<TrackStream> self, std::shared_ptr<SocketIoClient> client);

    // From the next chunk on, at `quality` ("128k", "192k", "320k").
    void switch_quality(std::string quality);
    // Ends the stream at once (no audio_end): its conversion stops with it.
    void stop();
    bool stopped() const { return stopped_; }
    std::string const& track_id() const { return track_id_; }

private:
    Task<> send_all(SocketIoClient& client);
    // Exactly `bytes` more of the feed; an error when it ends short.
    Task<Result<std::string>> read_exact(std::size_t bytes);
    // Reopens the conversion at `first_frame` when another quality was asked for (on failure the
    // stream goes on at the quality it has).
    Task<> follow_quality(std::int64_t first_frame);

    TrackCatalog& catalog_;
    auth::Identity who_;
    std::string track_id_;
    std::string quality_;         // of the feed
    std::string wanted_quality_;  // asked for; the feed follows at the next chunk
    Mp3Feed feed_;
    std::string buffered_;  // feed bytes read past the last chunk
    Metrics metrics_;
    net::steady_timer wake_;
    bool stopped_ = false;
};

}  // namespace onda::realtime
