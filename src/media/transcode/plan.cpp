#include "media/transcode/plan.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

namespace onda::media {
namespace {

// The sample rates AAC and MP3 encoders take.
constexpr std::array<int, 9> aac_rates{8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000};
constexpr std::array<int, 9> mp3_rates = aac_rates;  // MPEG-1, -2 and -2.5 layer III
constexpr int mp3_full_rate_floor = 32'000;          // below it, MPEG-2 layer III: at most 160 kbit/s
constexpr std::int64_t mp3_low_rate_max_bit_rate = 160'000;

// The highest supported rate that is not above `wanted` (the lowest supported one when all are).
template <std::size_t N>
int supported_rate(std::array<int, N> const& rates, int wanted) {
    int best = rates.front();
    for (int rate : rates)
        if (rate <= wanted) best = rate;
    return best;
}

int lossy_channels(SourceFacts const& source) { return std::clamp(source.channels, 1, 2); }

bool above_source(SourceFacts const& source, std::int64_t bit_rate, int sample_rate) {
    if (sample_rate > 0 && sample_rate > source.sample_rate) return true;
    return !source.lossless && source.audio_bit_rate > 0 && bit_rate > source.audio_bit_rate;
}

// The rungs of one codec that fit the source; the lowest one always, capped to what the source has.
std::vector<PlannedAudio> fit_codec(SourceFacts const& source, std::vector<AudioRung const*> rungs) {
    std::ranges::sort(rungs, {}, &AudioRung::bit_rate);
    std::vector<PlannedAudio> planned;
    for (std::size_t i = 0; i < rungs.size(); ++i) {
        AudioRung const& rung = *rungs[i];
        PlannedAudio audio{.name = rung.name,
                           .codec = rung.codec,
                           .bit_rate = rung.bit_rate,
                           .sample_rate = rung.sample_rate ? rung.sample_rate : source.sample_rate,
                           .channels = lossy_channels(source)};
        if (rung.codec == "aac") {
            audio.container = "hls";
            audio.sample_rate = supported_rate(aac_rates, std::min(audio.sample_rate, source.sample_rate));
        } else if (rung.codec == "mp3") {
            audio.container = "mp3";
            audio.sample_rate = supported_rate(mp3_rates, std::min(audio.sample_rate, source.sample_rate));
            if (audio.sample_rate < mp3_full_rate_floor && audio.bit_rate > mp3_low_rate_max_bit_rate) {
                if (i != 0) continue;
                audio.bit_rate = mp3_low_rate_max_bit_rate;
            }
        } else if (rung.codec == "opus") {
            audio.container = "ogg";
            audio.sample_rate = 48'000;
        }
        if (i != 0 && above_source(source, rung.bit_rate, rung.sample_rate)) continue;
        planned.push_back(std::move(audio));
    }
    return planned;
}

int even(double value) { return std::max(2, static_cast<int>(std::lround(value / 2)) * 2); }

}  // namespace

LadderPlan plan_ladder(SourceFacts const& source, LadderOptions const& options) {
    LadderPlan plan;
    if (source.has_video && source.width > 0 && source.height > 0) {
        double const sar = source.sar_num > 0 && source.sar_den > 0 ? double(source.sar_num) / source.sar_den : 1.0;
        double const display_width = source.width * sar;
        std::vector<VideoRung> rungs = options.video;
        std::ranges::sort(rungs, std::ranges::greater{}, &VideoRung::height);
        for (auto const& rung : rungs)
            if (rung.height <= source.height)
                plan.video.push_back({.name = rung.name,
                                      .width = even(display_width * rung.height / source.height),
                                      .height = rung.height,
                                      .bit_rate = rung.bit_rate});
        if (plan.video.empty() && !rungs.empty()) {
            VideoRung const& lowest = rungs.back();
            int const height = even(source.height - 1);  // an odd height rounds down
            plan.video.push_back({.name = std::to_string(height) + "p",
                                  .width = even(display_width * height / source.height),
                                  .height = height,
                                  .bit_rate = lowest.bit_rate});
        }
        if (source.has_audio)
            plan.video_audio = PlannedAudio{.name = "aac",
                                            .codec = "aac",
                                            .container = "hls",
                                            .bit_rate = options.video_audio_bit_rate,
                                            .sample_rate = supported_rate(aac_rates, source.sample_rate),
                                            .channels = lossy_channels(source)};
        return plan;
    }
    if (!source.has_audio || source.sample_rate <= 0) return plan;

    std::map<std::string, std::vector<AudioRung const*>> by_codec;
    for (auto const& rung : options.audio_hls)
        if (rung.codec == "aac") by_codec["hls"].push_back(&rung);
    for (auto const& rung : options.audio_files)
        if (rung.codec == "mp3" || rung.codec == "opus") by_codec[rung.codec].push_back(&rung);
    for (char const* family : {"hls", "mp3", "opus"})
        for (auto& planned : fit_codec(source, by_codec[family])) plan.audio.push_back(std::move(planned));
    if (source.lossless)
        for (auto const& rung : options.audio_files)
            if (rung.codec == "flac")
                plan.audio.push_back({.name = rung.name,
                                      .codec = "flac",
                                      .container = "flac",
                                      .sample_rate = source.sample_rate,
                                      .channels = std::clamp(source.channels, 1, 8),
                                      .bits_per_sample = source.bits_per_sample > 16 ? 24 : 16});
    plan.waveform = true;
    return plan;
}

}  // namespace onda::media
