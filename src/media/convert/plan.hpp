// On-the-fly conversions (API.md "Media library": `stream?format=F&bitrate=B`): which formats and
// bit rates are offered, and what exactly a conversion makes of a source: codec, sample rate,
// channels and, where it can be known before encoding, the exact length in bytes.
//
//   format  codec        container  bit rates (bits/s)                sample rate            length
//   mp3     libmp3lame   raw frames 64k 96k 128k 160k 192k 256k 320k  32 kHz below 128k,     known (CBR, see
//                                   (CBR; nothing else)               else 48 kHz            mp3_layout.hpp)
//   aac     aac (ADTS)   adts       32k … 320k, default 128k          the source's, ≤ 48 kHz streamed
//   opus    libopus      ogg        16k … 256k, default 96k           48 kHz                 streamed
//   ogg     libvorbis    ogg        64k … 320k, default 128k          the source's, ≤ 48 kHz streamed
//   flac    flac         flac       lossless (bitrate ignored)        the source's           streamed
//   wav     pcm_s16le    RIFF       lossless (bitrate ignored)        the source's           known
//
// Every lossy output has one or two channels (more are downmixed); so do FLAC and WAV, which keeps
// one rule for all. A plan is plain data: the server computes it from the media row, and passes it
// whole to the `onda convert` child, which follows it without deciding anything again, so that
// the length the server announced is the length the child writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace onda::media {

enum class ConvertFormat { mp3, aac, opus, ogg, flac, wav };

// What the plan needs to know of the source (the media row's probe).
struct ConvertSource {
    double duration = 0;  // seconds
    int sample_rate = 0;
    int channels = 0;
};

struct ConversionPlan {
    ConvertFormat format = ConvertFormat::mp3;
    std::int64_t bit_rate = 0;  // bits/s; 0 for flac and wav
    int sample_rate = 0;        // Hz of the output
    int channels = 0;           // 1 or 2
    // Output samples (per channel) of a known-length output: the source's duration at sample_rate,
    // padded with silence or cut to exactly this. 0 for streamed outputs, which end with the source.
    std::int64_t samples = 0;

    // The exact number of bytes the conversion writes, when known in advance (mp3, wav).
    std::optional<std::uint64_t> length() const;
    std::string content_type() const;
    // "mp3-192k", "flac": names the output in ETags, cache keys and logs.
    std::string name() const;
};

std::string_view format_name(ConvertFormat format);
// invalid_argument naming the formats offered.
Result<ConvertFormat> parse_convert_format(std::string_view text);
// "128k", "128K" or "128000": bits per second. invalid_argument for anything else.
Result<std::int64_t> parse_bit_rate(std::string_view text);

// The plan for `format` at `bit_rate` (nullopt: the format's default) of `source`.
// invalid_argument with a readable reason for a bit rate the format does not take, a source
// without audio, or mp3/wav of a source whose duration is unknown (or above 48 hours).
Result<ConversionPlan> plan_conversion(ConvertFormat format, std::optional<std::int64_t> bit_rate,
                                       ConvertSource const& source);

// Whether a plan that came from elsewhere (the command line) is one plan_conversion could have
// made: a rate and channel count the format takes, an MP3 layout with frames of a whole size.
Result<void> check_plan(ConversionPlan const& plan);

// The command-line options of `onda convert` that carry `plan` and `offset`, in the form the
// command parses (`--format mp3 --bitrate 192000 …`).
std::vector<std::string> convert_arguments(ConversionPlan const& plan, std::uint64_t offset);

// The same, as the one message a waiting `onda convert --await-job` child reads: the options,
// one per line.
struct ConversionJob {
    ConversionPlan plan;
    std::uint64_t offset = 0;
};
std::string encode_job(ConversionPlan const& plan, std::uint64_t offset);
// invalid_argument for a message encode_job did not make, or a plan check_plan refuses.
Result<ConversionJob> decode_job(std::string_view text);

}  // namespace onda::media
