// Probing: what a file is (container, codecs, duration, bit rates, sample rate, channels, picture
// size and rate), read with libavformat under a time and size budget so that a hostile file cannot
// hold a thread or read gigabytes. Only audio/video the server can read passes; anything else is
// Errc::unsupported_media with a reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include "core/error.hpp"
#include "core/task.hpp"

namespace onda::media {

struct ProbeLimits {
    std::chrono::milliseconds timeout{10'000};      // enforced with AVIOInterruptCB
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

namespace blocking {
// May take up to limits.timeout.
Result<MediaInfo> probe(std::filesystem::path const& file, ProbeLimits limits);
}  // namespace blocking

Task<Result<MediaInfo>> probe(net::thread_pool& pool, std::filesystem::path file, ProbeLimits limits);

}  // namespace onda::media
