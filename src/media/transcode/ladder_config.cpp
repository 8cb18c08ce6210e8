#include "media/transcode/ladder_config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "media/convert/plan.hpp"

namespace onda::media {
namespace {

Result<int> parse_number(std::string_view text, int low, int high, char const* what) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
        return Error(Errc::invalid_argument, fmt::format("{} must be {} to {}", what, low, high));
    return value;
}

// "aac" with "128k@44100" (the text after "codec:"; the whole item for HLS rungs).
Result<AudioRung> audio_rung(std::string_view codec, std::string_view rest) {
    AudioRung rung{.codec = std::string(codec)};
    std::string_view bit_rate = rest;
    if (auto const at = rest.find('@'); at != std::string_view::npos) {
        bit_rate = rest.substr(0, at);
        auto rate = parse_number(rest.substr(at + 1), 8'000, 192'000, "a sample rate");
        if (!rate) return rate.error();
        rung.sample_rate = *rate;
    }
    if (codec == "flac") {
        if (!rest.empty())
            return Error(Errc::invalid_argument, "flac takes no bitrate or rate (it keeps the source's)");
        rung.name = "flac";
        return rung;
    }
    if (bit_rate.empty()) return Error(Errc::invalid_argument, std::string(codec) + " needs a bitrate, as 128k");
    auto parsed = parse_bit_rate(bit_rate);
    if (!parsed) return parsed.error();
    if (*parsed < 8'000 || *parsed > 640'000)
        return Error(Errc::invalid_argument, "an audio bitrate must be 8k to 640k");
    rung.bit_rate = *parsed;
    if (codec == "opus") {
        constexpr std::array<int, 5> opus_rates{8000, 12000, 16000, 24000, 48000};
        if (rung.sample_rate == 0) rung.sample_rate = 48'000;
        if (std::ranges::find(opus_rates, rung.sample_rate) == opus_rates.end())
            return Error(Errc::invalid_argument, "opus takes 8000, 12000, 16000, 24000 or 48000 Hz");
    }
    rung.name = fmt::format("{}-{}", codec, rung.bit_rate / 1000);
    return rung;
}

// HLS rungs are AAC and name no codec ("128k@44100"); file rungs do ("mp3:192k").
Result<std::vector<AudioRung>> audio_rungs(std::string_view list, bool hls) {
    std::vector<AudioRung> rungs;
    for (std::string const& text : split_list(list)) {
        std::string_view const item = text;
        auto const colon = item.find(':');
        auto const codec = hls ? std::string_view("aac") : item.substr(0, colon);
        if (!hls && codec != "mp3" && codec != "opus" && codec != "flac")
            return Error(Errc::invalid_argument, "a file rung is mp3, opus or flac").context(std::string(item));
        auto const rest = hls ? item : colon == std::string_view::npos ? std::string_view{} : item.substr(colon + 1);
        auto rung = audio_rung(codec, rest);
        if (!rung) return rung.error().context(std::string(item));
        rungs.push_back(std::move(*rung));
    }
    return rungs;
}

Result<std::vector<VideoRung>> video_rungs(std::string_view list) {
    std::vector<VideoRung> rungs;
    for (std::string const& text : split_list(list)) {
        std::string_view const item = text;
        auto const colon = item.find(':');
        auto const name = item.substr(0, colon);
        if (colon == std::string_view::npos || name.size() < 2 || name.back() != 'p')
            return Error(Errc::invalid_argument, "a video rung is <height>p:<bitrate>, as 720p:2500k")
                .context(std::string(item));
        auto height = parse_number(name.substr(0, name.size() - 1), 16, 4320, "a height");
        if (!height) return height.error().context(std::string(item));
        if (*height % 2) return Error(Errc::invalid_argument, "a height must be even").context(std::string(item));
        auto bit_rate = parse_bit_rate(item.substr(colon + 1));
        if (!bit_rate) return bit_rate.error().context(std::string(item));
        if (*bit_rate < 50'000) return Error(Errc::invalid_argument, "a video bitrate must be at least 50k");
        rungs.push_back({.name = std::string(name), .height = *height, .bit_rate = *bit_rate});
    }
    return rungs;
}

}  // namespace

Result<LadderOptions> ladder_options(TranscodeConfig const& config) {
    LadderOptions options;
    auto audio_hls = audio_rungs(config.audio_hls, true);
    if (!audio_hls) return audio_hls.error().context("transcode.audio_hls");
    auto audio_files = audio_rungs(config.audio_files, false);
    if (!audio_files) return audio_files.error().context("transcode.audio_files");
    auto video = video_rungs(config.video);
    if (!video) return video.error().context("transcode.video");
    if (audio_hls->empty() && std::ranges::none_of(*audio_files, [](auto& rung) { return rung.codec != "flac"; }))
        return Error(Errc::invalid_argument,
                     "transcode.audio_hls and transcode.audio_files name no lossy rung: audio would get nothing");
    if (video->empty()) return Error(Errc::invalid_argument, "transcode.video names no rung");
    // Rendition names are paths and API values: one rung each.
    std::set<std::string> names;
    std::string repeated;
    auto const named_once = [&](auto const& rungs) {
        for (auto const& rung : rungs)
            if (!names.insert(rung.name).second) {
                repeated = rung.name;
                return false;
            }
        return true;
    };
    if (!named_once(*audio_hls) || !named_once(*audio_files) || !named_once(*video))
        return Error(Errc::invalid_argument, "two rungs named " + repeated);
    options.audio_hls = std::move(*audio_hls);
    options.audio_files = std::move(*audio_files);
    options.video = std::move(*video);

    auto video_audio = parse_bit_rate(config.video_audio_bitrate);
    if (!video_audio) return video_audio.error().context("transcode.video_audio_bitrate");
    options.video_audio_bit_rate = *video_audio;

    auto const segment = config.segment_duration;
    if (segment.count() % 1000 != 0 || segment < std::chrono::seconds(1) || segment > std::chrono::seconds(60))
        return Error(Errc::invalid_argument, "transcode.segment_duration must be whole seconds, 1s to 60s");
    options.segment_duration = std::chrono::duration_cast<std::chrono::seconds>(segment);

    constexpr std::array<std::string_view, 10> presets{"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                                       "medium",    "slow",      "slower",   "veryslow", "placebo"};
    if (std::ranges::find(presets, config.video_preset) == presets.end())
        return Error(Errc::invalid_argument, "transcode.video_preset must be one of libx264's presets, as veryfast");
    options.video_preset = config.video_preset;
    return options;
}

}  // namespace onda::media
