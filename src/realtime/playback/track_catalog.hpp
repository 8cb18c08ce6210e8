// What playback needs of the media library, which realtime does not know: whether a track exists and
// who may hear it, the links a player preloads, and the track as a constant-bit-rate MP3 for
// stream_track. `app` implements it with media::Library; tests with fixed data.
//
// Tracks are media ids ("m_…"). Every method checks that `who` may read the track (public, its
// owner, an admin): not_found for an unknown id, unauthenticated or forbidden otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/json/object.hpp>

#include "auth/identity.hpp"
#include "core/error.hpp"
#include "core/task.hpp"
#include "http/response.hpp"

namespace onda::realtime {

struct TrackInfo {
    std::string id;
    double duration = 0;  // seconds
};

// A constant-bit-rate MPEG-1 Layer III stream of a track, read from a whole frame on. Every frame
// has frame_bytes bytes and samples_per_frame samples at sample_rate. Frame 0 of the file is the
// Info frame (duration and seek table, which decoders play as silence or skip); audio frames are
// 1 … audio_frames.
struct Mp3Feed {
    int frame_bytes = 0;
    int sample_rate = 0;
    int samples_per_frame = 1152;
    std::int64_t audio_frames = 0;
    std::int64_t bit_rate = 0;  // bits/s
    double duration = 0;        // of the track, seconds
    // The bytes from the frame open_mp3 was asked for to the end of the file. Destroying it stops
    // the conversion. Its next() must be awaited on the executor open_mp3 ran on.
    std::unique_ptr<http::BodyStream> bytes;
};

class TrackCatalog {
public:
    virtual ~TrackCatalog() = default;

    virtual Task<Result<TrackInfo>> find(auth::Identity who, std::string id) = 0;

    // Links a player can load the track from without further ado: {stream, mp3 (the stream
    // converted at `quality`), hls (when the ladder is ready)}, signed when the track is private.
    virtual Task<Result<boost::json::object>> urls(auth::Identity who, std::string id, std::string quality) = 0;

    // The track at `bit_rate` from file frame `first_frame` on (0: the start, Info frame included).
    // resource_exhausted when too many conversions are running; invalid_argument for a bit rate
    // the converter does not make or a track without audio.
    virtual Task<Result<Mp3Feed>> open_mp3(auth::Identity who, std::string id, std::int64_t bit_rate,
                                           std::int64_t first_frame) = 0;
};

}  // namespace onda::realtime
