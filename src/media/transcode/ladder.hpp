// Transcode ladders (DESIGN.md "Decode once, encode many"): one pass over a source file decodes it
// once and feeds every encoder of the ladder; each encoder gets references to the decoded frames
// (the split) and runs its own libavfilter chain (aresample/aformat or scale) on a thread of its
// own, so the encoders of a ladder share the cores.
// What comes out is written below an output directory, ready to be put into the BlobStore under
// "media/{id}/" with the same relative paths:
//
//   hls/master.m3u8                       the master playlist (when any HLS rung was made)
//   hls/{rendition}/index.m3u8            a VOD child playlist
//   hls/{rendition}/init.mp4              its fMP4 initialisation segment
//   hls/{rendition}/seg-00001.m4s …       its media segments
//   files/{rendition}.{mp3|ogg|flac}      progressive renditions
//   waveform.json                         audio: {"duration", "peaks"}
//   thumbnail.jpg                         video: a frame from about 10 % in; audio: the cover art
//
// These are the ladder's options and results; media/av/transcode/ladder.hpp runs it (with libav, in
// an `onda-media` process only).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>

#include "core/error.hpp"

namespace onda::media {

// One audio rendition. HLS rungs are AAC in fMP4 segments; file rungs are one progressive file.
struct AudioRung {
    std::string name;           // "aac-128", "mp3-192", "opus-160", "flac"
    std::string codec;          // "aac" | "mp3" | "opus" | "flac"
    std::int64_t bit_rate = 0;  // bits/s; 0 for lossless
    int sample_rate = 0;        // Hz; 0: the source's (capped by what the codec takes)
};

// One H.264 rendition; its width follows the source's aspect ratio (rounded to even).
struct VideoRung {
    std::string name;  // "1080p"
    int height = 0;
    std::int64_t bit_rate = 0;
};

struct LadderOptions {
    std::vector<AudioRung> audio_hls{
        {"aac-64", "aac", 64'000, 22'050}, {"aac-128", "aac", 128'000, 44'100}, {"aac-320", "aac", 320'000, 48'000}};
    std::vector<AudioRung> audio_files{{"mp3-128", "mp3", 128'000, 0},
                                       {"mp3-192", "mp3", 192'000, 0},
                                       {"mp3-320", "mp3", 320'000, 0},
                                       {"opus-160", "opus", 160'000, 48'000},
                                       {"flac", "flac", 0, 0}};  // made only from a lossless source
    std::vector<VideoRung> video{
        {"1080p", 1080, 5'000'000}, {"720p", 720, 2'500'000}, {"480p", 480, 1'200'000}, {"360p", 360, 800'000}};
    std::int64_t video_audio_bit_rate = 128'000;  // the AAC track of every video rendition
    std::chrono::seconds segment_duration{4};
    std::string video_preset = "veryfast";  // libx264's speed/quality trade-off
    double peaks_per_second = 10;
    unsigned encoder_threads = 0;  // 0: libav's choice
};

struct LadderResult {
    std::vector<std::filesystem::path> files;  // every file written, relative to the output directory
    boost::json::array renditions;             // the API's `renditions` (name, codec, bit_rate, …)
    bool hls = false;
    bool thumbnail = false;
    bool waveform = false;
};

// Called with the fraction done (0..1), from the thread running the ladder, often (keep it cheap).
using LadderProgress = std::function<void(double)>;

}  // namespace onda::media
