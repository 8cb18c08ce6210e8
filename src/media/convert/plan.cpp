#include "media/convert/plan.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <span>

#include <fmt/format.h>

#include "media/convert/mp3_layout.hpp"
#include "media/convert/wav_layout.hpp"

namespace onda::media {
namespace {

constexpr std::array<std::int64_t, 7> mp3_bit_rates{64'000, 96'000, 128'000, 160'000, 192'000, 256'000, 320'000};
// Below 128 kbit/s a 48 kHz MP3 spends its bits on frequencies the encoder then filters away.
constexpr std::int64_t mp3_full_rate_from = 128'000;
constexpr std::array<int, 9> aac_rates{8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000};

struct BitRateRange {
    std::int64_t low = 0;
    std::int64_t high = 0;
    std::int64_t fallback = 0;
};

constexpr BitRateRange aac_range{32'000, 320'000, 128'000};
constexpr BitRateRange opus_range{16'000, 256'000, 96'000};
constexpr BitRateRange vorbis_range{64'000, 320'000, 128'000};

// The highest rate of `rates` not above `wanted` (the lowest when all are).
int supported_rate(std::span<int const> rates, int wanted) {
    int best = rates.front();
    for (int rate : rates)
        if (rate <= wanted) best = rate;
    return best;
}

Result<std::int64_t> in_range(std::string_view format, std::optional<std::int64_t> bit_rate, BitRateRange range) {
    if (!bit_rate) return range.fallback;
    if (*bit_rate < range.low || *bit_rate > range.high)
        return Error(Errc::invalid_argument,
                     fmt::format("{} takes a bitrate from {}k to {}k", format, range.low / 1000, range.high / 1000));
    return *bit_rate;
}

std::int64_t samples_at(double seconds, int sample_rate) {
    return static_cast<std::int64_t>(std::llround(std::max(seconds, 0.0) * sample_rate));
}

}  // namespace

std::string_view format_name(ConvertFormat format) {
    switch (format) {
    case ConvertFormat::mp3: return "mp3";
    case ConvertFormat::aac: return "aac";
    case ConvertFormat::opus: return "opus";
    case ConvertFormat::ogg: return "ogg";
    case ConvertFormat::flac: return "flac";
    case ConvertFormat::wav: return "wav";
    }
    return "mp3";
}

Result<ConvertFormat> parse_convert_format(std::string_view text) {
    for (auto format : {ConvertFormat::mp3, ConvertFormat::aac, ConvertFormat::opus, ConvertFormat::ogg,
                        ConvertFormat::flac, ConvertFormat::wav})
        if (text == format_name(format)) return format;
    return Error(Errc::invalid_argument, "format must be mp3, aac, opus, ogg, flac or wav");
}

Result<std::int64_t> parse_bit_rate(std::string_view text) {
    std::string_view digits = text;
    std::int64_t scale = 1;
    if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) {
        digits.remove_suffix(1);
        scale = 1000;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    constexpr std::int64_t max_bit_rate = 100'000'000;  // anything near it is a typo, and this bounds the product
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || value <= 0 ||
        value > max_bit_rate / scale)
        return Error(Errc::invalid_argument, "bitrate must be bits per second, as 128k or 128000");
    return value * scale;
}

Result<ConversionPlan> plan_conversion(ConvertFormat format, std::optional<std::int64_t> bit_rate,
                                       ConvertSource const& source) {
    if (source.sample_rate <= 0 || source.channels <= 0)
        return Error(Errc::invalid_argument, "this media has no audio to convert");
    // MP3 and WAV state their length before encoding, from the duration the upload's probe found: a
    // file whose container names none (or claims days) cannot be given one.
    constexpr double max_known_length_seconds = 48 * 3600;
    bool const known_length = format == ConvertFormat::mp3 || format == ConvertFormat::wav;
    if (known_length && !(source.duration > 0 && source.duration <= max_known_length_seconds))
        return Error(
            Errc::invalid_argument,
            fmt::format("{} needs the media's duration, which is unknown; try opus or aac", format_name(format)));
    ConversionPlan plan{.format = format, .channels = std::clamp(source.channels, 1, 2)};
    switch (format) {
    case ConvertFormat::mp3: {
        plan.bit_rate = bit_rate.value_or(128'000);
        if (std::ranges::find(mp3_bit_rates, plan.bit_rate) == mp3_bit_rates.end())
            return Error(Errc::invalid_argument, "mp3 takes a bitrate of 64k, 96k, 128k, 160k, 192k, 256k or 320k");
        plan.sample_rate = plan.bit_rate >= mp3_full_rate_from ? 48'000 : 32'000;
        plan.samples = samples_at(source.duration, plan.sample_rate);
        break;
    }
    case ConvertFormat::aac: {
        auto rate = in_range("aac", bit_rate, aac_range);
        if (!rate) return rate.error();
        plan.bit_rate = *rate;
        plan.sample_rate = supported_rate(aac_rates, source.sample_rate);
        break;
    }
    case ConvertFormat::opus: {
        auto rate = in_range("opus", bit_rate, opus_range);
        if (!rate) return rate.error();
        plan.bit_rate = *rate;
        plan.sample_rate = 48'000;  // Opus's one full-band rate
        break;
    }
    case ConvertFormat::ogg: {
        auto rate = in_range("ogg", bit_rate, vorbis_range);
        if (!rate) return rate.error();
        plan.bit_rate = *rate;
        plan.sample_rate = std::min(source.sample_rate, 48'000);
        break;
    }
    case ConvertFormat::flac: plan.sample_rate = source.sample_rate; break;
    case ConvertFormat::wav:
        plan.sample_rate = source.sample_rate;
        plan.samples = samples_at(source.duration, plan.sample_rate);
        break;
    }
    return plan;
}

Result<void> check_plan(ConversionPlan const& plan) {
    if (plan.channels < 1 || plan.channels > 2) return Error(Errc::invalid_argument, "channels must be 1 or 2");
    if (plan.sample_rate < 1'000 || plan.sample_rate > 384'000)
        return Error(Errc::invalid_argument, "the sample rate must be from 1000 to 384000 Hz");
    if (plan.samples < 0) return Error(Errc::invalid_argument, "samples must not be negative");
    if (plan.format == ConvertFormat::mp3 && !is_exact_mp3_rate(plan.sample_rate, plan.bit_rate))
        return Error(Errc::invalid_argument, "mp3 frames at this bit rate and sample rate would not be of one size");
    bool const lossless = plan.format == ConvertFormat::flac || plan.format == ConvertFormat::wav;
    if (!lossless && plan.bit_rate <= 0) return Error(Errc::invalid_argument, "a lossy format needs a bit rate");
    return ok();
}

std::optional<std::uint64_t> ConversionPlan::length() const {
    if (format == ConvertFormat::mp3)
        return Mp3Layout{.sample_rate = sample_rate, .bit_rate = bit_rate, .channels = channels, .samples = samples}
            .length();
    if (format == ConvertFormat::wav)
        return WavLayout{.sample_rate = sample_rate, .channels = channels, .samples = samples}.length();
    return std::nullopt;
}

std::string ConversionPlan::content_type() const {
    switch (format) {
    case ConvertFormat::mp3: return "audio/mpeg";
    case ConvertFormat::aac: return "audio/aac";
    case ConvertFormat::opus: return "audio/ogg; codecs=opus";
    case ConvertFormat::ogg: return "audio/ogg";
    case ConvertFormat::flac: return "audio/flac";
    case ConvertFormat::wav: return "audio/wav";
    }
    return "application/octet-stream";
}

std::string ConversionPlan::name() const {
    if (bit_rate == 0) return std::string(format_name(format));
    return fmt::format("{}-{}k", format_name(format), bit_rate / 1000);
}

std::vector<std::string> convert_arguments(ConversionPlan const& plan, std::uint64_t offset) {
    std::vector<std::string> arguments{"--format", std::string(format_name(plan.format))};
    if (plan.bit_rate > 0) arguments.insert(arguments.end(), {"--bitrate", std::to_string(plan.bit_rate)});
    arguments.insert(arguments.end(), {"--sample-rate", std::to_string(plan.sample_rate), "--channels",
                                       std::to_string(plan.channels), "--samples", std::to_string(plan.samples)});
    if (offset > 0) arguments.insert(arguments.end(), {"--offset", std::to_string(offset)});
    return arguments;
}

std::string encode_job(ConversionPlan const& plan, std::uint64_t offset) {
    std::string text;
    for (auto const& argument : convert_arguments(plan, offset)) {
        text += argument;
        text += '\n';
    }
    return text;
}

Result<ConversionJob> decode_job(std::string_view text) {
    auto const bad = [](std::string_view why) { return Error(Errc::invalid_argument, "job: " + std::string(why)); };
    std::vector<std::string_view> words;
    while (!text.empty()) {
        auto const end = text.find('\n');
        if (end == std::string_view::npos) return bad("not newline-terminated");
        words.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    if (words.size() % 2 != 0) return bad("an option without a value");
    ConversionJob job;
    bool has_format = false;
    for (std::size_t i = 0; i < words.size(); i += 2) {
        std::string_view const name = words[i];
        std::string_view const value = words[i + 1];
        if (name == "--format") {
            auto format = parse_convert_format(value);
            if (!format) return format.error();
            job.plan.format = *format;
            has_format = true;
            continue;
        }
        std::int64_t number = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec != std::errc{} || end != value.data() + value.size() || number < 0 || value.empty())
            return bad("option " + std::string(name) + " wants a whole number");
        if (name == "--bitrate")
            job.plan.bit_rate = number;
        else if (name == "--sample-rate" && number <= 1'000'000)
            job.plan.sample_rate = static_cast<int>(number);
        else if (name == "--channels" && number <= 8)
            job.plan.channels = static_cast<int>(number);
        else if (name == "--samples")
            job.plan.samples = number;
        else if (name == "--offset")
            job.offset = static_cast<std::uint64_t>(number);
        else
            return bad("unknown option " + std::string(name));
    }
    if (!has_format) return bad("no --format");
    if (auto valid = check_plan(job.plan); !valid) return valid.error();
    return job;
}

}  // namespace onda::media
