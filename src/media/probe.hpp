// What a probe says about a file: container, codecs, duration, bit rates, sample rate, channels,
// picture size and rate, and the budget a probe runs under. The probe itself reads the file with
// libavformat in an `onda-media` process (media/av/probe.hpp); the server asks one through
// media/prober.hpp and reads its answer back from JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.hpp"

namespace onda::media {

struct ProbeLimits {
    std::chrono::milliseconds timeout{10'000};      // enforced with AVIOInterruptCB, and by killing the child
    std::uint64_t max_bytes = 64ull * 1024 * 1024;  // bytes the probe may read from the file
};

struct AudioInfo {
    std::string codec;  // libavcodec name: "pcm_s16le", "mp3", "aac", "opus", "flac"
    int sample_rate = 0;
    int channels = 0;
    std::int64_t bit_rate = 0;  // 0 when unknown
};

struct VideoInfo {
    std::string codec;  // "h264", "hevc", "vp9", "av1"
    int width = 0;
    int height = 0;
    double fps = 0;
    std::int64_t bit_rate = 0;
};

struct MediaInfo {
    std::string kind;          // "video" when there is a video stream that is not cover art, else "audio"
    std::string format;        // short container name: "wav", "mp3", "mp4", "ogg", "flac", "matroska", "webm"
    std::string content_type;  // "audio/wav", "audio/mpeg", "video/mp4", "audio/mp4", "audio/ogg", …
    double duration = 0;       // seconds; 0 when unknown
    std::int64_t bit_rate = 0;
    std::optional<AudioInfo> audio;
    std::optional<VideoInfo> video;
    bool has_cover_art = false;
};

// The object of `onda probe` and the audio/video parts of the API's media object.
boost::json::object to_json(MediaInfo const& info);
boost::json::object to_json(AudioInfo const& info);
boost::json::object to_json(VideoInfo const& info);

// The inverse of to_json(MediaInfo), for what a probe child printed. invalid_argument when a member
// is missing or of another type.
Result<MediaInfo> media_info_from_json(boost::json::value const& value);

}  // namespace onda::media
