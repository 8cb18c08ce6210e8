// Which rungs of a ladder a source gets, and at what sample rate, channel count and picture size:
// the "never upscale" rules, kept apart from libav so they can be read and tested on their own.
//
// - Audio HLS rungs and MP3 files: a rung above the source's sample rate, or above a lossy source's
//   bit rate, is skipped; the lowest rung of each codec is always made (at most at the source's
//   rate). MP3 takes only the MPEG sample rates, and at rates below 32 kHz at most 160 kbit/s.
// - Opus is always 48 kHz (its only full-band rate); FLAC is made only from a lossless source, at
//   its rate and channel count.
// - Lossy encoders get at most two channels (8-channel sources are downmixed).
// - Video rungs above the source's picture height are skipped; when none fits, the lowest rung is
//   made at the source's height. Widths follow the displayed aspect ratio, rounded to even.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "media/transcode/ladder.hpp"

namespace onda::media {

// What the plan needs to know of the decoded source.
struct SourceFacts {
    bool has_audio = false;
    int sample_rate = 0;
    int channels = 0;
    std::int64_t audio_bit_rate = 0;  // 0 when unknown
    bool lossless = false;            // PCM, FLAC, ALAC, …
    int bits_per_sample = 16;         // of a lossless source

    bool has_video = false;
    int width = 0;
    int height = 0;
    int sar_num = 1;  // sample aspect ratio; 1:1 when unknown
    int sar_den = 1;
};

struct PlannedAudio {
    std::string name;
    std::string codec;      // "aac" | "mp3" | "opus" | "flac"
    std::string container;  // "hls" | "mp3" | "ogg" | "flac"
    std::int64_t bit_rate = 0;
    int sample_rate = 0;
    int channels = 0;
    int bits_per_sample = 16;  // flac only: 16 or 24
};

struct PlannedVideo {
    std::string name;
    int width = 0;
    int height = 0;
    std::int64_t bit_rate = 0;
};

struct LadderPlan {
    std::vector<PlannedAudio> audio;  // HLS rungs first, then files
    std::vector<PlannedVideo> video;  // highest first
    // The AAC track every video rung carries (present when the source has audio).
    std::optional<PlannedAudio> video_audio;
    bool waveform = false;
};

LadderPlan plan_ladder(SourceFacts const& source, LadderOptions const& options);

}  // namespace onda::media
